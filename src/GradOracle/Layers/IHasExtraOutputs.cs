using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// An op with results besides its output that callers rely on but that take no gradient: batch norm's updated
/// running statistics in training. Verify compares them when an implementation sends them ("extras" in a reply) and
/// says so when it does not; reference cases hold them as expected.extras.
/// </summary>
public interface IHasExtraOutputs
{
    /// <summary>The extra outputs for these inputs, by name; null when this call has none.</summary>
    NamedTensors? ExtraOutputs(NamedTensors inputs);
}
