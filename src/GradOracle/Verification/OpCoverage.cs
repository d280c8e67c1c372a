using System.Collections.Immutable;

namespace GradOracle.Verification;

/// <summary>
/// What a run exercised of one op: how many of its cases ran and how they ended, the situations where its gradient
/// is a set that arose (ties, NaN windows, relu at 0) and in how many cases, and why the skipped ones were skipped.
/// </summary>
public sealed record OpCoverage(string Op, int Ran, int Passed, int Failed, int Known, int Errors,
    ImmutableDictionary<string, int> Situations, ImmutableDictionary<string, int> Skipped)
{
    /// <summary>Per op, in name order, from a run's cases.</summary>
    public static ImmutableArray<OpCoverage> Of(IEnumerable<CaseResult> cases) =>
    [
        .. cases.GroupBy(c => c.Op).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            var ran = g.Where(c => c.Status != CaseStatus.Skipped).ToList();
            return new OpCoverage(g.Key, ran.Count, Count(g, CaseStatus.Pass), Count(g, CaseStatus.Fail), Count(g, CaseStatus.KnownFailure), Count(g, CaseStatus.Error),
                ran.SelectMany(c => c.Situations).GroupBy(s => s).ToImmutableDictionary(s => s.Key, s => s.Count()),
                g.Where(c => c.Status == CaseStatus.Skipped).GroupBy(c => c.Summary).ToImmutableDictionary(s => s.Key, s => s.Count()));
        }),
    ];

    private static int Count(IEnumerable<CaseResult> cases, CaseStatus s) => cases.Count(c => c.Status == s);

    /// <inheritdoc/>
    public override string ToString()
    {
        var parts = new List<string> { $"{Ran} ran" };
        if (Ran > 0) parts[0] += $" ({Passed} passed{(Failed > 0 ? $", {Failed} failed" : "")}{(Known > 0 ? $", {Known} known" : "")}{(Errors > 0 ? $", {Errors} errors" : "")})";
        if (Situations.Count > 0) parts.Add("situations: " + string.Join(", ", Situations.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key} in {s.Value}")));
        if (Skipped.Count > 0) parts.Add($"{Skipped.Values.Sum()} skipped: " + string.Join("; ", Skipped.OrderByDescending(s => s.Value).Select(s => $"{s.Value} {s.Key}")));
        return $"{Op}: {string.Join("; ", parts)}";
    }
}
