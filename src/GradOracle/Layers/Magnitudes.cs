using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>Shared forms of <see cref="IHasMagnitudes"/>.</summary>
public static class Magnitudes
{
    /// <summary>
    /// For an op that is a sum of products, linear in each input (convolution, linear, average pooling): the op
    /// itself applied to |inputs|, and its backward to |inputs| and |dy|, give each element's sum of |terms|.
    /// </summary>
    public static OpResult Multilinear(IOp op, NamedTensors inputs, Tensor gradOutput)
    {
        var abs = new NamedTensors(inputs.Items.Select(i => (i.Name, Abs(i.Value))).ToArray());
        return new OpResult(op.Forward(abs), op.Backward(abs, Abs(gradOutput)));
    }

    /// <summary>|t| elementwise.</summary>
    public static Tensor Abs(Tensor t) => Tensor.Create(t.Shape, i => Math.Abs(t.At(i)));
}
