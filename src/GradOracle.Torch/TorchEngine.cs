using GradOracle.Layers;
using GradOracle.Protocol;
using GradOracle.Tensors;

namespace GradOracle.Torch;

/// <summary>
/// libtorch as an implementation under test: `gradoracle serve --engine libtorch` answers with libtorch's own
/// outputs and gradients, so that verify checks a real, independent, current implementation end to end.
/// Requests are read into the oracle's ops (the same attribute rules), then computed by libtorch alone.
/// </summary>
public sealed class TorchEngine : IServeEngine
{
    /// <summary>The engine, or null with why libtorch is unavailable.</summary>
    public static TorchEngine? IfAvailable(out string? whyNot)
    {
        var a = TorchBridge.Availability;
        whyNot = a.IsAvailable ? null : a.Message;
        return a.IsAvailable ? new TorchEngine(a.Version!) : null;
    }

    private TorchEngine(string version) => Name = $"libtorch {version}";

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public IReadOnlyList<string> Ops { get; } = OpFactory.Names.Where(TorchOp.HasFunction).ToList();

    /// <summary>PyTorch's own choice in every situation (the first of tied maxima, relu's slope 0 at 0, hardtanh's outside slope, ...).</summary>
    public IReadOnlyDictionary<string, string> Conventions { get; } = OpFactory.Situations.ToDictionary(s => s.Key, s => s.PyTorch);

    /// <inheritdoc/>
    public IOp? Answering(IOp op, out string? whyNot) => TorchOp.For(op, out whyNot);

    /// <summary>libtorch's own indices (return_indices=True), from one more forward call; null for ops without them.</summary>
    public Tensor? Indices(IOp answering, NamedTensors inputs) =>
        answering is TorchOp t && t.Reference.Descriptor.SelectsIndices
            && t.Call(inputs, null) is { Error: null } a && a.Tensors.Contains("indices") ? a.Tensors["indices"] : null;
}
