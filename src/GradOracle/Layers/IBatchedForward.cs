using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// An op that evaluates many forward passes in one call: an implementation behind a pipe answers them all in
/// one round trip instead of one each. The finite-difference checker uses it when an op offers it.
/// </summary>
public interface IBatchedForward
{
    /// <summary>The outputs for each of <paramref name="inputs"/>, in order: what <see cref="IOp.Forward"/> gives for each.</summary>
    IReadOnlyList<Tensor> ForwardAll(IReadOnlyList<NamedTensors> inputs);
}
