using GradOracle.Checking;
using GradOracle.Layers;

namespace GradOracle.Verification;

/// <summary>
/// The conventions one case is judged by, where its op's gradient is a set. Its expected values follow, per
/// situation, the declared choice (the case's own attribute for <c>attribute</c>), or else PyTorch's; a declared
/// choice is required, and with --strict so is PyTorch's; any other situation accepts every valid choice.
/// </summary>
/// <param name="Rule">The op that computes the expected values.</param>
/// <param name="Required">The situations held to one choice, by key.</param>
/// <param name="Why">For each required situation, why: "declared in hello" or "--strict".</param>
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
            if (declared.TryGetValue(s.Key, out var d))
            {
                expected[s.Key] = required[s.Key] = d == Situation.Attribute ? h.Choices[s.Key] : d;
                why[s.Key] = d == Situation.Attribute ? "declared in hello: the case's attribute" : "declared in hello";
            }
            else
            {
                expected[s.Key] = s.PyTorch;
                if (strict) { required[s.Key] = s.PyTorch; why[s.Key] = "--strict: PyTorch's choice"; }
            }
        }
        return new(h.WithConventions(expected), required, why);
    }
}
