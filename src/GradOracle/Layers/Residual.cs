using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// A residual block's skip connection, y = body(x) + x (He et al. 2016): the body's output must have the input's
/// shape. Its parameters are the body's, named as the body names them ("0.weight"); backward adds dy to the
/// gradient the body passes back to x, the two paths' contributions summed.
/// </summary>
public sealed class Residual(Sequential body) : IOp
{
    /// <summary>The path the skip connection goes around.</summary>
    public Sequential Body { get; } = body;

    /// <inheritdoc/>
    public string Name => "residual";

    /// <inheritdoc/>
    public OpAttributes Attributes => OpAttributes.None;

    /// <summary>The body's chain with the skip: "(conv2d -> batch_norm -> ...) + input".</summary>
    public string AttributeText => $"({Body.AttributeText}) + input";

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs => Body.DifferentiableInputs;

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs)
    {
        var x = inputs["input"];
        var y = Body.Forward(inputs);
        if (y.Shape != x.Shape)
            throw new ParameterException("body", $"output {y.Shape}", $"must have the input's shape {x.Shape} for the skip connection's sum");
        return Tensor.Create(x.Shape, i => y.At(i) + x.At(i));
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var grads = Body.Backward(inputs, gradOutput);
        var throughBody = grads["input"];
        return grads.With("input", Tensor.Create(throughBody.Shape, i => throughBody.At(i) + gradOutput.At(i)));
    }
}
