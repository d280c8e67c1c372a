using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Protocol;

/// <summary>The oracle's own float64 values: max pooling follows each request's tie_policy and nan_rule, relu and leaky_relu take PyTorch's slope at 0.</summary>
public sealed class OracleEngine : IServeEngine
{
    /// <summary>The one instance.</summary>
    public static OracleEngine Instance { get; } = new();

    private OracleEngine() { }

    /// <inheritdoc/>
    public string Name => "gradoracle-serve";

    /// <inheritdoc/>
    public IReadOnlyList<string> Ops => OpFactory.Names;

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, string> Conventions { get; } =
        OpFactory.Situations.ToDictionary(s => s.Key, s => s.HonoursAttribute ? Situation.Attribute : s.PyTorch);

    /// <inheritdoc/>
    public IOp? Answering(IOp op, out string? whyNot)
    {
        whyNot = null;
        return op;
    }

    /// <inheritdoc/>
    public Tensor? Indices(IOp answering, NamedTensors inputs) =>
        answering.Descriptor.Indices(answering, inputs) is { } ix ? Tensor.FromArray(ix.Shape, [.. ix.Data.Select(v => (double)v)]) : null;
}
