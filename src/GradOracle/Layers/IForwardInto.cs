using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// An op that can write its output into an array the caller lends and reuses: the finite-difference checker's
/// thousands of passes then allocate nothing (a fresh output per pass kept the garbage collector busy, and with
/// two workers its collections cost as much as the passes).
/// </summary>
public interface IForwardInto
{
    /// <summary>
    /// What <see cref="IOp.Forward"/> gives, written over <paramref name="output"/> (the output's size) and wrapped:
    /// the caller must not use the tensor once it lends the array again.
    /// </summary>
    Tensor Forward(NamedTensors inputs, double[] output);
}
