using GradOracle.Layers;

namespace GradOracle.Verification;

/// <summary>
/// What a run learns across cases about the choices an implementation makes where a gradient is a set: per
/// situation, in how many of the cases where it arises each choice was seen. A finding only, with its counts:
/// every case was judged on its own.
/// </summary>
internal static class ConventionSummary
{
    public static List<string> Findings(IReadOnlyList<CaseResult> cases, IReadOnlyDictionary<string, string> declared, bool strict)
    {
        var findings = new List<string>();
        var judged = cases.Where(c => c.Status is CaseStatus.Pass or CaseStatus.Fail).ToList();
        foreach (var situation in OpFactory.Situations)
        {
            var arising = judged.Where(c => c.Situations.Contains(situation.Key)).ToList();
            if (arising.Count == 0) continue;
            var seen = arising.SelectMany(c => c.Conventions.Where(v => v.Situation == situation.Key).Take(1)).ToList();
            var counts = seen.GroupBy(v => v.Choice).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => $"{Choice(g.Key, g.First())} in {g.Count()}").ToList();
            var rest = arising.Where(c => !c.Conventions.Any(v => v.Situation == situation.Key)).ToList();
            bool isDeclared = declared.TryGetValue(situation.Key, out var d);
            // A case that names no choice here and passed followed the rule the run holds it to; one that failed, for some
            // other reason, says nothing about this situation.
            string rule = isDeclared && d == Situation.Attribute ? "the case's attribute"
                : strict || !isDeclared ? $"PyTorch's {situation.PyTorch}" : $"the declared {d}";
            int passed = rest.Count(c => c.Status == CaseStatus.Pass), failed = rest.Count - passed;
            if (passed > 0) counts.Add($"{rule} in {passed}");
            if (failed > 0) counts.Add($"not determined in {failed} (they fail otherwise)");
            string held = isDeclared && (!strict || d == Situation.Attribute) ? "declared, so held strictly"
                : strict ? "--strict holds it to PyTorch's choice" : "any valid choice passes";
            findings.Add($"{situation.Key} ({situation.Description}) arises in {arising.Count} case(s): {string.Join(", ", counts)}; {held}");
        }
        return findings;
    }

    private static string Choice(string choice, Convention example) =>
        example.Valid ? choice : $"{choice} (outside the valid set)";
}
