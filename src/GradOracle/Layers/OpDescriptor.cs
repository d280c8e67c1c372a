using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// Everything the project knows about one op besides its forward and backward, stated once beside them: the
/// protocol name, inputs and attributes, whether its results are exact selections or rounded sums, its kinks, its
/// invariants, its libtorch counterpart, the bugs a diagnosis tests for and how random cases are drawn. The
/// factory, the tolerances, libtorch parity, the diagnosis and verify read it; none of them asks an op's type.
/// Ops write theirs as an <see cref="OpDescriptor{TOp}"/>.
/// </summary>
public abstract class OpDescriptor
{
    /// <summary>The torch.nn.functional name, with <c>{r}</c> standing for the spatial rank 1-3 (<c>max_pool{r}d</c>).</summary>
    public required string Name { get; init; }

    /// <summary>Every name the op answers to, the ranks spelled out.</summary>
    public IReadOnlyList<string> Names => Name.Contains("{r}") ? [.. new[] { 1, 2, 3 }.Select(r => Name.Replace("{r}", r.ToString()))] : [Name];

    /// <summary>The inputs a request carries, in order.</summary>
    public required IReadOnlyList<OpInput> Inputs { get; init; }

    /// <summary>The attributes the op takes; a request with any other is refused.</summary>
    public IReadOnlyList<OpAttribute> Attributes { get; init; } = [];

    /// <summary>The points where the op has no derivative and its gradient is a set, by the situation an implementation declares.</summary>
    public IReadOnlyList<Situation> Kinks { get; init; } = [];

    /// <summary>The invariants every correct gradient of the op satisfies, as reports name them (checked by the op's <see cref="IHasInvariants"/>).</summary>
    public IReadOnlyList<string> Invariants { get; init; } = [];

    /// <summary>Whether verify checks a float64 implementation's backward against finite differences of its own forward.</summary>
    public bool FiniteDifferencesOfForward { get; init; } = true;

    /// <summary>How often random cases draw this op relative to others (1 the usual; 0 never).</summary>
    public double DrawWeight { get; init; } = 1;

    /// <summary>
    /// Hand-picked configurations for the built-in check and the reference cases, beyond the ones the check suite
    /// lists: the attributes and edges a newly added op must be seen on.
    /// </summary>
    public Func<IReadOnlyList<CheckCase>> Examples { get; init; } = () => [];

    /// <summary>The op for a request (its rank, attributes and inputs); a <see cref="ParameterException"/> naming what is not valid.</summary>
    public abstract IOp Create(OpArguments arguments);

    /// <summary>
    /// Whether the op's outputs and gradients are exact selections or products with 0 and 1 (max pooling, relu, flatten),
    /// compared bit for bit, rather than rounded sums, whose allowance scales with what they sum.
    /// </summary>
    public abstract bool ComparesExactly(IOp op);

    /// <summary>libtorch's own error for the op where it exceeds float64 rounding; null where it does not.</summary>
    public TorchKnownError? TorchError { get; init; }

    /// <summary>The libtorch function an op name maps to (its own name, unless the descriptor says another).</summary>
    public Func<string, string> TorchName { get; init; } = name => name;

    /// <summary>libtorch's function for the op, or null with the reason when libtorch has none (a rule PyTorch does not offer).</summary>
    public abstract TorchEquivalent? Torch(IOp op, out string? whyNot);

    /// <summary>The op's known bugs for these inputs, each as the answer it would give.</summary>
    public abstract IEnumerable<BugHypothesis> Bugs(IOp op, NamedTensors inputs, Tensor gradOutput);

    /// <summary>The positions the forward selected (max pooling's indices), an output besides the result; null when the op has none.</summary>
    public abstract IndexTensor? Indices(IOp op, NamedTensors inputs);

    /// <summary>Whether the op's results include the indices it selected (max pooling's argmax), without computing them.</summary>
    public abstract bool SelectsIndices { get; }

    /// <summary>A random case of the op, or null when it draws none.</summary>
    public abstract CheckCase? Draw(CaseDraw draw);

    /// <inheritdoc/>
    public override string ToString() => Name;
}
