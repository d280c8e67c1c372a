using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests;

/// <summary>Small builders that keep the worked examples readable.</summary>
internal static class T
{
    /// <summary>A tensor of the given dimensions and row-major values.</summary>
    public static Tensor Of(int[] dims, params double[] values) => Tensor.FromArray(dims, values);

    /// <summary>The input gradient of <paramref name="op"/> at <paramref name="x"/> for upstream gradient <paramref name="dy"/>.</summary>
    public static double[] Grad(IOp op, Tensor x, Tensor dy) => op.Backward(NamedTensors.Input(x), dy)["input"].ToArray();

    /// <summary>The forward output's values.</summary>
    public static double[] Out(IOp op, Tensor x) => op.Forward(NamedTensors.Input(x)).ToArray();
}
