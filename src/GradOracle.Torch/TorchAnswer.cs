using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Torch;

/// <summary>What libtorch returned for one call: named tensors (output, grad.&lt;input&gt;, indices) or an error, and any warnings it gave.</summary>
public sealed record TorchAnswer(NamedTensors Tensors, string? Error, string? Warnings = null)
{
    /// <summary>The forward output.</summary>
    public Tensor Output => Tensors["output"];
}
