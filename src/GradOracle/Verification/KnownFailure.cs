namespace GradOracle.Verification;

/// <summary>
/// A case, or a pattern of cases, the user expects to fail, with the reason: listed failures do not fail the run but
/// are reported, and a listed case that passes is reported too (a failure under --strict), so the list stays honest.
/// </summary>
/// <param name="Case">A case id, or a pattern in which '*' stands for any text ("max_pool2d/*", "random/*").</param>
/// <param name="Reason">Why it fails: shown beside every case it covers.</param>
public sealed record KnownFailure(string Case, string Reason)
{
    /// <summary>Whether <paramref name="id"/> is this entry's case or matches its pattern.</summary>
    public bool Matches(string id)
    {
        var parts = Case.Split('*');
        if (parts.Length == 1) return id == Case;
        if (!id.StartsWith(parts[0], StringComparison.Ordinal) || !id.EndsWith(parts[^1], StringComparison.Ordinal)) return false;
        int at = parts[0].Length, end = id.Length - parts[^1].Length;
        if (end < at) return false;
        for (int i = 1; i < parts.Length - 1; i++)
        {
            int found = id.IndexOf(parts[i], at, end - at, StringComparison.Ordinal);
            if (found < 0) return false;
            at = found + parts[i].Length;
        }
        return true;
    }

    /// <summary>
    /// The results with the listed cases' verdicts applied: a listed failure or error becomes
    /// <see cref="CaseStatus.KnownFailure"/>; a listed pass stays a pass, noted, or under <paramref name="strict"/> becomes a
    /// failure. The findings name each unexpected pass and, with <paramref name="unmatched"/> (a whole, unfiltered run),
    /// each entry that matched no case that ran (skipped cases do not count).
    /// </summary>
    public static (IReadOnlyList<CaseResult> Results, IReadOnlyList<string> Findings) Apply(IReadOnlyList<CaseResult> results, IReadOnlyList<KnownFailure> known, bool strict, bool unmatched = true)
    {
        if (known.Count == 0) return (results, []);
        var findings = new List<string>();
        var used = new HashSet<KnownFailure>();
        var applied = results.Select(c =>
        {
            var entry = known.FirstOrDefault(k => k.Matches(c.Id));
            if (entry is null) return c;
            if (c.Status != CaseStatus.Skipped) used.Add(entry);
            switch (c.Status)
            {
                case CaseStatus.Fail or CaseStatus.Error:
                    return c with { Status = CaseStatus.KnownFailure, Summary = $"known failure ({entry.Reason}): {c.Summary}" };
                case CaseStatus.Pass:
                    findings.Add($"{c.Id} is listed as a known failure ({entry.Reason}) but passes{(strict ? "" : ": take it off the list (--strict fails it)")}");
                    return strict ? c with { Status = CaseStatus.Fail, Summary = $"passes, but is listed as a known failure ({entry.Reason}): --strict holds the list to the truth" } : c;
                default:
                    return c;
            }
        }).ToList();
        if (unmatched) findings.AddRange(known.Where(k => !used.Contains(k)).Select(k => $"the known failure \"{k.Case}\" ({k.Reason}) matched no case that ran"));
        return (applied, findings);
    }
}
