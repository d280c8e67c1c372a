using System.Collections.Immutable;
using GradOracle.Cases;
using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>What `gradoracle verify` runs and how.</summary>
public sealed record VerifyOptions
{
    /// <summary>The implementation's command line.</summary>
    public required string Command { get; init; }
    /// <summary>reference-cases directory; null: none.</summary>
    public CaseStore? Cases { get; init; }
    /// <summary>Seed of the random cases (printed, so that a failure reproduces).</summary>
    public int Seed { get; init; } = 1;
    /// <summary>How many random cases.</summary>
    public int RandomCases { get; init; } = 100;
    /// <summary>1-based shard index and shard count: case k runs in shard (k mod count) + 1.</summary>
    public int ShardIndex { get; init; } = 1;
    /// <summary>Shard count.</summary>
    public int ShardCount { get; init; } = 1;
    /// <summary>Per-request timeout.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>
    /// Finite differences of a float64 implementation's own forward on cases with at most this many differentiable
    /// elements: every case the random generator makes (at most 1278 in 5000 draws) and every reference case.
    /// Their passes go out in pipelined batches, so the cost is the implementation's compute, not round trips.
    /// </summary>
    public int FiniteDifferenceMaxElements { get; init; } = 2048;
    /// <summary>Save the implementation's answers here.</summary>
    public string? RecordDir { get; init; }
    /// <summary>Compare the implementation's answers with those saved here.</summary>
    public string? AgainstDir { get; init; }
    /// <summary>Only cases whose id contains this text (a filter that matches nothing is an error).</summary>
    public string? Filter { get; init; }

    /// <summary>Only the case with exactly this id (`explain`).</summary>
    public string? Only { get; init; }

    /// <summary>
    /// Where a gradient is a set (ties, NaN windows, relu at 0), accept only PyTorch's choice (or the declared one's
    /// attribute, for an implementation that honours the attributes) instead of any valid one.
    /// </summary>
    public bool Strict { get; init; }

    /// <summary>Wall-clock seconds for the whole run (null: unbounded): cases not started in time are skipped, finite-difference passes cut short, and the report says so.</summary>
    public TimeSpan? Budget { get; init; }

    /// <summary>How much of a float64 implementation's backward is checked against finite differences of its own forward.</summary>
    public FiniteDifferenceMode FiniteDifferences { get; init; } = FiniteDifferenceMode.All;

    /// <summary>Elements per input that <see cref="FiniteDifferenceMode.Sampled"/> checks.</summary>
    public int SampledElements { get; init; } = 16;

    /// <summary>Interrupts the run (Ctrl-C): the cases not yet started are skipped, said so, and the report still comes out.</summary>
    public CancellationToken Interrupt { get; init; }
}

/// <summary>A case's verdict.</summary>
public enum CaseStatus
{
    /// <summary>Matches the oracle, or lies in the set of valid gradients where the op has no derivative (a named convention).</summary>
    Pass,
    /// <summary>Wrong values, shapes or missing gradients, broken invariants, or its backward disagrees with its own forward.</summary>
    Fail,
    /// <summary>The implementation does not support the op or configuration.</summary>
    Skipped,
    /// <summary>The implementation errored, crashed, hung or answered garbage.</summary>
    Error,
}

/// <summary>One compared tensor that differs.</summary>
public sealed record TensorDiff(string Tensor, int Count, int Total, ImmutableArray<string> Worst, string? Problem)
{
    /// <inheritdoc/>
    public override string ToString() => Problem ?? $"{Tensor}: {Count} of {Total} elements differ; worst: {string.Join("; ", Worst)}";
}

/// <summary>The verdict on one case, with everything needed to debug it.</summary>
public sealed record CaseResult(
    string Id, string Op, string Attributes, string Source, CaseStatus Status, string Summary,
    ImmutableArray<TensorDiff> Diffs, ImmutableArray<string> Diagnosis, ImmutableArray<string> Notes, string Repro, double Seconds)
{
    /// <summary>Expected and actual tensors for the report's heat maps (not serialised).</summary>
    public IReadOnlyDictionary<string, (Tensor Expected, Tensor Actual)>? Tensors { get; init; }

    /// <summary>Where the case's gradient is a set and the answer differs from PyTorch's choice: which conventions it follows (or breaks).</summary>
    public ImmutableArray<Convention> Conventions { get; init; } = [];

    /// <summary>The keys of the situations (ties, a NaN window, relu at 0) that arise in this case's inputs.</summary>
    public ImmutableArray<string> Situations { get; init; } = [];
}

/// <summary>A whole run.</summary>
public sealed record VerifyReport(
    string Implementation, string Command, string Dtype, int Seed, string Shard, ImmutableArray<CaseResult> Cases,
    ImmutableArray<string> Findings, string Stderr, int Restarts)
{
    /// <summary>What is wrong with the run as a whole, beyond its cases (a hello naming ops GradOracle does not know).</summary>
    public ImmutableArray<string> Errors { get; init; } = [];

    /// <summary>The conventions the implementation declared (held strictly), by situation key.</summary>
    public IReadOnlyDictionary<string, string> Declared { get; init; } = new Dictionary<string, string>();

    /// <summary>Whether --strict held every situation to PyTorch's choice.</summary>
    public bool Strict { get; init; }

    /// <summary>Whether the run was interrupted before its last case.</summary>
    public bool Interrupted { get; init; }

    /// <summary>Cases per status.</summary>
    public int Count(CaseStatus s) => Cases.Count(c => c.Status == s);

    /// <summary>The run's errors, and "nothing was tested" when no case ran.</summary>
    public IReadOnlyList<string> Problems =>
    [
        .. Errors,
        .. Interrupted ? [$"the run was interrupted: {Cases.Count(c => c.Summary.StartsWith(InterruptedSummary, StringComparison.Ordinal))} case(s) were not run"] : Array.Empty<string>(),
        .. Cases.All(c => c.Status == CaseStatus.Skipped)
            ? [$"nothing was tested: {(Cases.Length == 0 ? "no case was run" : $"all {Cases.Length} case(s) were skipped")}"] : Array.Empty<string>(),
    ];

    /// <summary>The summary of a case the interrupt left unrun.</summary>
    public const string InterruptedSummary = "not run: the run was interrupted";

    /// <summary>0 all passed, 1 some failed or errored, 2 nothing was tested or the run itself is in error.</summary>
    public int ExitCode => Cases.Any(c => c.Status is CaseStatus.Fail or CaseStatus.Error) ? 1 : Problems.Count > 0 ? 2 : 0;
}

/// <summary>One case to run: the oracle's op, what is sent, and where it came from.</summary>
internal sealed record WorkItem(string Id, string Source, IOp Oracle, OpAttributes Attrs, NamedTensors Inputs, Tensor GradOutput)
{
    public string Repro(VerifyOptions o) =>
        $"gradoracle explain --impl {Quote(o.Command)} {Id}" + (Source == "random" ? $" --seed {o.Seed} --random {o.RandomCases}" : "");

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";
}
