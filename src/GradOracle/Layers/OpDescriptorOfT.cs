using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>An op's descriptor, written with the op's own type: the questions about an instance are functions of it.</summary>
/// <typeparam name="TOp">The op's class.</typeparam>
public sealed class OpDescriptor<TOp> : OpDescriptor where TOp : class, IOp
{
    /// <summary>Builds the op from a request.</summary>
    public required Func<OpArguments, TOp> Build { get; init; }

    /// <summary>Whether an instance's results are exact selections (default: rounded sums).</summary>
    public Func<TOp, bool> Exact { get; init; } = _ => false;

    /// <summary>Why libtorch cannot compute an instance, or null when it can (default: it can).</summary>
    public Func<TOp, string?> TorchLacks { get; init; } = _ => null;

    /// <summary>libtorch's call for an instance (default: the same name and attributes).</summary>
    public Func<TOp, TorchEquivalent> TorchCall { get; init; } = op => new(op.Name, op.Attributes);

    /// <summary>The instance's known bugs for given inputs and grad_output.</summary>
    public Func<TOp, NamedTensors, Tensor, IEnumerable<BugHypothesis>> KnownBugs { get; init; } = (_, _, _) => [];

    /// <summary>The positions an instance's forward selected; null for an op without them.</summary>
    public Func<TOp, NamedTensors, IndexTensor>? SelectedIndices { get; init; }

    /// <summary>A random case; null for an op random cases do not draw.</summary>
    public Func<CaseDraw, CheckCase>? DrawCase { get; init; }

    /// <inheritdoc/>
    public override IOp Create(OpArguments arguments) => Build(arguments);

    /// <inheritdoc/>
    public override bool ComparesExactly(IOp op) => op is TOp t && Exact(t);

    /// <inheritdoc/>
    public override TorchEquivalent? Torch(IOp op, out string? whyNot)
    {
        if (op is not TOp t)
        {
            whyNot = $"{op.Name} is not the oracle's own op";
            return null;
        }
        whyNot = TorchLacks(t);
        return whyNot is null ? TorchCall(t) : null;
    }

    /// <inheritdoc/>
    public override IEnumerable<BugHypothesis> Bugs(IOp op, NamedTensors inputs, Tensor gradOutput) => op is TOp t ? KnownBugs(t, inputs, gradOutput) : [];

    /// <inheritdoc/>
    public override IndexTensor? Indices(IOp op, NamedTensors inputs) => op is TOp t && SelectedIndices is { } f ? f(t, inputs) : null;

    /// <inheritdoc/>
    public override bool SelectsIndices => SelectedIndices is not null;

    /// <inheritdoc/>
    public override CheckCase? Draw(CaseDraw draw) => DrawCase?.Invoke(draw);
}
