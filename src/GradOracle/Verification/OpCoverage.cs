using System.Collections.Immutable;

namespace GradOracle.Verification;

/// <summary>
/// What a run exercised of one op: how many of its cases ran and how they ended, in which dtype, the values each
/// attribute took (an attribute that only ever took one value is what the run did not exercise), the situations where
/// its gradient is a set that arose (ties, NaN windows, relu at 0) and in how many cases, and why the skipped ones were
/// skipped.
/// </summary>
public sealed record OpCoverage(string Op, string Dtype, int Ran, int Passed, int Failed, int Known, int Errors,
    ImmutableDictionary<string, ImmutableDictionary<string, int>> Attributes,
    ImmutableDictionary<string, int> Situations, ImmutableDictionary<string, int> Skipped)
{
    /// <summary>How many values of one attribute the text names before "and N more".</summary>
    private const int ValuesShown = 4;

    /// <summary>Per op, in name order, from a run's cases in <paramref name="dtype"/>.</summary>
    public static ImmutableArray<OpCoverage> Of(IEnumerable<CaseResult> cases, string dtype) =>
    [
        .. cases.GroupBy(c => c.Op).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            var ran = g.Where(c => c.Status != CaseStatus.Skipped).ToList();
            var attributes = ran.SelectMany(c => c.AttributeValues).GroupBy(a => a.Key).ToImmutableDictionary(a => a.Key,
                a => a.GroupBy(v => v.Value).ToImmutableDictionary(v => v.Key, v => v.Count()));
            return new OpCoverage(g.Key, dtype, ran.Count, Count(g, CaseStatus.Pass), Count(g, CaseStatus.Fail), Count(g, CaseStatus.KnownFailure), Count(g, CaseStatus.Error),
                attributes,
                ran.SelectMany(c => c.Situations).GroupBy(s => s).ToImmutableDictionary(s => s.Key, s => s.Count()),
                g.Where(c => c.Status == CaseStatus.Skipped).GroupBy(c => c.Summary).ToImmutableDictionary(s => s.Key, s => s.Count()));
        }),
    ];

    private static int Count(IEnumerable<CaseResult> cases, CaseStatus s) => cases.Count(c => c.Status == s);

    /// <summary>
    /// One attribute's values as text: "only [1, 1]" when it never varied, else the commonest values with their case
    /// counts, "[0, 0] in 12, [1, 1] in 3".
    /// </summary>
    public static string ValuesText(ImmutableDictionary<string, int> values)
    {
        if (values.Count == 1) return "only " + values.Keys.Single();
        var shown = values.OrderByDescending(v => v.Value).ThenBy(v => v.Key, StringComparer.Ordinal).Take(ValuesShown).Select(v => $"{v.Key} in {v.Value}");
        return string.Join(", ", shown) + (values.Count > ValuesShown ? $", and {values.Count - ValuesShown} more" : "");
    }

    /// <summary>The attributes' values, in name order: "stride [1, 1] in 10, [2, 2] in 2; ceil_mode only False".</summary>
    public string AttributesText => string.Join("; ", Attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key} {ValuesText(a.Value)}"));

    /// <inheritdoc/>
    public override string ToString()
    {
        var parts = new List<string> { $"{Ran} ran" };
        if (Ran > 0) parts[0] += $" in {Dtype} ({Passed} passed{(Failed > 0 ? $", {Failed} failed" : "")}{(Known > 0 ? $", {Known} known" : "")}{(Errors > 0 ? $", {Errors} errors" : "")})";
        if (Attributes.Count > 0) parts.Add("attributes: " + AttributesText);
        if (Situations.Count > 0) parts.Add("situations: " + string.Join(", ", Situations.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key} in {s.Value}")));
        if (Skipped.Count > 0) parts.Add($"{Skipped.Values.Sum()} skipped: " + string.Join("; ", Skipped.OrderByDescending(s => s.Value).Select(s => $"{s.Value} {s.Key}")));
        return $"{Op}: {string.Join("; ", parts)}";
    }
}
