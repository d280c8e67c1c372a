using GradOracle.Tensors;

namespace GradOracle.Checking;

/// <summary>An op that knows its Jacobian's sparsity, so that finite differences can be compressed.</summary>
public interface IHasJacobianStructure
{
    /// <summary>The structure with respect to differentiable input <paramref name="input"/>, or null for none known.</summary>
    JacobianStructure? StructureOf(string input, Layers.NamedTensors inputs, Shape outputShape);

    /// <summary>
    /// Whether the op is differentiable at every finite input (no ties, no ReLU-like corners): the checker then
    /// skips the per-output kink test. Only for the oracle's own ops, whose formulas are known to be smooth.
    /// </summary>
    bool IsSmooth => false;

    /// <summary>
    /// Whether the op is affine in differentiable input <paramref name="input"/>, the others held (convolution in each
    /// of its inputs, not in two at once): a one-sided difference is then its derivative up to rounding, and the checker
    /// needs one pass per colour instead of two (<see cref="GradCheckOptions.OneSidedWhenAffine"/>). Only for the
    /// oracle's own ops, whose formulas are known; the checker tests it on a sample before relying on it.
    /// </summary>
    bool IsAffineIn(string input) => false;
}
