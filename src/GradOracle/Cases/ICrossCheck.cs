using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Cases;

/// <summary>A second oracle the generator compares with (libtorch, through GradOracle.Torch).</summary>
public interface ICrossCheck
{
    /// <summary>Its version, recorded in provenance.</summary>
    string Version { get; }

    /// <summary>Compares the oracle with the second oracle on one case.</summary>
    CrossCheckResult Compare(IOp op, NamedTensors inputs, Tensor gradOutput);
}
