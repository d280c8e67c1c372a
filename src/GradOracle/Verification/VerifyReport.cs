using System.Collections.Immutable;

namespace GradOracle.Verification;

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

    /// <summary>Per op: what ran and how it ended, the attribute values and situations exercised, and why cases were skipped.</summary>
    public ImmutableArray<OpCoverage> Coverage => OpCoverage.Of(Cases, Dtype);

    /// <summary>The ops of <paramref name="cases"/> with their case counts, commonest first: "max_pool2d (27), gelu (10)", the first <paramref name="shown"/> of them and "and N more".</summary>
    public static string OpCounts(IEnumerable<CaseResult> cases, int shown = int.MaxValue)
    {
        var ops = cases.GroupBy(c => c.Op).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} ({g.Count()})").ToList();
        return string.Join(", ", ops.Take(shown)) + (ops.Count > shown ? $", and {ops.Count - shown} more" : "");
    }

    /// <summary>Cases per status.</summary>
    public int Count(CaseStatus s) => Cases.Count(c => c.Status == s);

    /// <summary>"N passed, N failed, N errors, N skipped", with ", N known failures" when there are any.</summary>
    public string Counts =>
        $"{Count(CaseStatus.Pass)} passed, {Count(CaseStatus.Fail)} failed, {Count(CaseStatus.Error)} errors, {Count(CaseStatus.Skipped)} skipped" +
        (Count(CaseStatus.KnownFailure) > 0 ? $", {Count(CaseStatus.KnownFailure)} known failures" : "");

    /// <summary>The run's errors, and "nothing was tested" when no case ran.</summary>
    public IReadOnlyList<string> Problems =>
    [
        .. Errors,
        .. Interrupted ? [$"the run was interrupted: {Cases.Count(c => c.Summary.StartsWith(InterruptedSummary, StringComparison.Ordinal))} case(s) were not run"] : Array.Empty<string>(),
        .. Cases.All(c => c.Status == CaseStatus.Skipped)
            ? [$"nothing was tested: {(Cases.Length == 0 ? "no case was run" : $"all {Cases.Length} case(s) were skipped")}"] : Array.Empty<string>(),
    ];

    /// <summary>"time: 12.3 s in 240 cases; slowest: id 1.20 s, ..." (the <paramref name="most"/> slowest cases), or null when none took time.</summary>
    public string? TimeSummary(int most = 5)
    {
        var timed = Cases.Where(c => c.Seconds > 0).ToList();
        if (timed.Count == 0) return null;
        var slowest = timed.OrderByDescending(c => c.Seconds).ThenBy(c => c.Id, StringComparer.Ordinal).Take(most);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        return string.Create(inv, $"time: {timed.Sum(c => c.Seconds):0.0} s in {timed.Count} cases; slowest: {string.Join(", ", slowest.Select(c => string.Create(inv, $"{c.Id} {c.Seconds:0.00} s")))}");
    }

    /// <summary>The summary of a case the interrupt left unrun.</summary>
    public const string InterruptedSummary = "not run: the run was interrupted";

    /// <summary>0 all passed, 1 some failed or errored, 2 nothing was tested or the run itself is in error.</summary>
    public int ExitCode => Cases.Any(c => c.Status is CaseStatus.Fail or CaseStatus.Error) ? 1 : Problems.Count > 0 ? 2 : 0;
}
