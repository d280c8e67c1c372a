using GradOracle.Layers;
using GradOracle.Tensors;
using System.Collections.Immutable;

namespace GradOracle.Verification;

/// <summary>The verdict on one case, with everything needed to debug it.</summary>
public sealed record CaseResult(
    string Id, string Op, string Attributes, string Source, CaseStatus Status, string Summary,
    ImmutableArray<TensorDiff> Diffs, ImmutableArray<string> Diagnosis, ImmutableArray<string> Notes, string Repro, double Seconds)
{
    /// <summary>Expected and actual tensors for the report's heat maps; the JSON report keeps them for failing cases only.</summary>
    public IReadOnlyDictionary<string, ExpectedAndActual>? Tensors { get; init; }

    /// <summary>
    /// The case's inputs by name as sent to the implementation (already rounded to its dtype), for the report's input
    /// map beside a gradient's (ties and NaN in the input explain max-pool failures); like <see cref="Tensors"/>, the
    /// JSON report keeps them for failing cases only.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor>? Inputs { get; init; }

    /// <summary>Where the case's gradient is a set and the answer differs from PyTorch's choice: which conventions it follows (or breaks).</summary>
    public ImmutableArray<Convention> Conventions { get; init; } = [];

    /// <summary>The keys of the situations (ties, a NaN window, relu at 0) that arise in this case's inputs.</summary>
    public ImmutableArray<string> Situations { get; init; } = [];

    /// <summary>The op's attributes as text by name (padding: "[1, 1]"), for the run's coverage.</summary>
    public ImmutableDictionary<string, string> AttributeValues { get; init; } = ImmutableDictionary<string, string>.Empty;

    /// <summary>The summary of a case skipped because its op is not in the implementation's hello.</summary>
    public const string NotAmongOps = " is not among the implementation's ops";

    /// <summary>Why the case was skipped, without the op name where the reason is the op itself, so that such cases group as one reason.</summary>
    public string SkipReason => Summary.EndsWith(NotAmongOps, StringComparison.Ordinal) ? "op not among the implementation's ops (its hello)" : Summary;
}
