using GradOracle.Cases;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Torch;

/// <summary>libtorch as the reference-case generator's and verifier's second oracle.</summary>
public sealed class TorchCrossCheck : ICrossCheck
{
    /// <summary>libtorch's version.</summary>
    public string Version => TorchBridge.Availability.Version ?? throw new InvalidOperationException(TorchBridge.Availability.Message);

    /// <summary>The cross-check when the bridge is available, else null.</summary>
    public static TorchCrossCheck? IfAvailable() => TorchBridge.Availability.IsAvailable ? new TorchCrossCheck() : null;

    /// <inheritdoc/>
    public CrossCheckResult Compare(IOp op, NamedTensors inputs, Tensor gradOutput)
    {
        var r = TorchParity.Compare(op, inputs, gradOutput);
        return r.Status switch
        {
            ParityStatus.Agree when r.Tensors.IsEmpty => new CrossCheckResult(false, true, 0, r.Message),
            ParityStatus.Agree => new CrossCheckResult(true, true, r.WorstRelative, null),
            ParityStatus.Disagree => new CrossCheckResult(true, false, r.WorstRelative, r.ToString()),
            _ => new CrossCheckResult(false, true, 0, r.Message),
        };
    }
}
