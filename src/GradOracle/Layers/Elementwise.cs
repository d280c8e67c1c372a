using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>The forward and backward of an op applied to each element of "input" alone: y = f(x), dx = dy·f'(x).</summary>
internal static class Elementwise
{
    /// <summary>The logistic sigmoid 1/(1 + e^-v): 0 and 1 in the tails, never NaN.</summary>
    public static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    /// <summary>f at every element of the input.</summary>
    public static Tensor Forward(NamedTensors inputs, Func<double, double> f)
    {
        var x = inputs["input"];
        return Tensor.Create(x.Shape, i => f(x.At(i)));
    }

    /// <summary>dy·slope(x) at every element: the input's gradient.</summary>
    public static NamedTensors Backward(NamedTensors inputs, Tensor gradOutput, Func<double, double> slope)
    {
        var x = inputs["input"];
        Tensor.RequireShape("grad_output", gradOutput, x.Shape);
        return NamedTensors.Input(Tensor.Create(x.Shape, i => gradOutput.At(i) * slope(x.At(i))));
    }
}
