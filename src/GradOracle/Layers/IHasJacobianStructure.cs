using GradOracle.Tensors;

namespace GradOracle.Layers;

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
    /// Elements of <paramref name="input"/> whose gradient the op defines as 0 although its forward depends on them
    /// (embedding's padding_idx row): finite differences cannot check a definition, so the checker requires 0 there.
    /// </summary>
    IReadOnlySet<int>? ConstantElements(string input, Layers.NamedTensors inputs) => null;
}
