using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>An operation with invariants that any correct gradient satisfies, whoever computed it.</summary>
public interface IHasInvariants
{
    /// <summary>Checks <paramref name="gradients"/> (ours or another implementation's) against the op's invariants.</summary>
    InvariantReport CheckInvariants(NamedTensors inputs, Tensor gradOutput, NamedTensors gradients);
}
