using GradOracle.Layers;

namespace GradOracle.Verification;

/// <summary>
/// The conventions one case is judged by, where its op's gradient is a set. Its expected values follow, per
/// situation, PyTorch's choice, or the declared one (the case's own attribute for <c>attribute</c>). A declared
/// choice is required; with --strict PyTorch's is, over any declared choice but <c>attribute</c> (the case's
/// attribute is an explicit request); any other situation accepts every valid choice.
/// </summary>
internal sealed record CaseRules(IOp Rule, IReadOnlyDictionary<string, string> Required, IReadOnlyDictionary<string, string> Why)
{
    public static CaseRules For(IOp oracle, IReadOnlyDictionary<string, string> declared, bool strict)
    {
        if (oracle is not IHasConventions h || h.Situations.Count == 0) return new(oracle, new Dictionary<string, string>(), new Dictionary<string, string>());
        var expected = new Dictionary<string, string>();
        var required = new Dictionary<string, string>();
        var why = new Dictionary<string, string>();
        foreach (var s in h.Situations)
        {
            bool isDeclared = declared.TryGetValue(s.Key, out var d);
            if (isDeclared && d == Situation.Attribute)
            {
                expected[s.Key] = required[s.Key] = h.Choices[s.Key];
                why[s.Key] = "declared in hello: the case's attribute";
            }
            else if (strict)
            {
                expected[s.Key] = required[s.Key] = s.PyTorch;
                why[s.Key] = isDeclared && d != s.PyTorch ? $"--strict: PyTorch's choice, though the hello declares {d}" : "--strict: PyTorch's choice";
            }
            else if (isDeclared)
            {
                expected[s.Key] = required[s.Key] = d!;
                why[s.Key] = "declared in hello";
            }
            else expected[s.Key] = s.PyTorch;
        }
        return new(h.WithConventions(expected), required, why);
    }
}
