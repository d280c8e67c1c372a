using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>
/// Recognises the tie policy and NaN rule an implementation follows from its max-pooling answers: the
/// hypothesis (honour the tie_policy/nan_rule attributes, or one fixed policy and rule) that explains
/// every informative case. Cases that fail only because the implementation follows another rule are then
/// judged against that rule, and the difference from PyTorch is reported.
/// </summary>
internal static class Policies
{
    private sealed record Hypothesis(string Name, TiePolicy? Tie, NanRule? Nan);

    private static readonly Hypothesis Declared = new("the tie_policy and nan_rule attributes it is sent", null, null);

    private static IEnumerable<Hypothesis> Fixed() =>
        from n in new[] { NanRule.Propagate, NanRule.Ignore }
        from t in Enum.GetValues<TiePolicy>()
        select new Hypothesis($"tie_policy={Lower(t)}, nan_rule={Lower(n)}", t, n);

    private static string Lower<T>(T v) where T : Enum => v.ToString().ToLowerInvariant();

    public static List<string> Resolve(List<(WorkItem Item, CaseResult Result, Evaluation? Eval)> runs, out List<CaseResult> resolved)
    {
        resolved = runs.Select(r => r.Result).ToList();
        var findings = new List<string>();
        var maxPool = runs.Select((r, i) => (r, i)).Where(x => x.r.Item.Oracle is MaxPool && x.r.Eval?.Actual is not null).ToList();
        if (maxPool.Count == 0) return findings;
        var hypotheses = new[] { Declared }.Concat(Fixed()).ToList();
        // Which hypotheses explain each case; a case every hypothesis explains says nothing.
        var explains = maxPool.Select(x => hypotheses.Where(h => Explains(x.r.Item, x.r.Eval!, h)).ToHashSet()).ToList();
        var informative = explains.Where(s => s.Count < hypotheses.Count).ToList();
        if (informative.Count == 0) return findings;
        var common = hypotheses.Where(h => informative.All(s => s.Contains(h))).ToList();
        if (common.Count == 0)
        {
            findings.Add("max pooling: no single tie policy and NaN rule explains the implementation's answers (it is inconsistent, or wrong in another way)");
            return findings;
        }
        var chosen = common.Contains(Declared) ? Declared : common.First();
        if (chosen == Declared)
        {
            findings.Add("max pooling: the implementation follows the tie_policy and nan_rule it is sent (PyTorch's own are first and propagate)");
            return findings;
        }
        var differences = new List<string>();
        if (chosen.Tie != TiePolicy.First) differences.Add($"tied maxima get the gradient by tie_policy={Lower(chosen.Tie!.Value)} where PyTorch gives it to the first");
        if (chosen.Nan != NanRule.Propagate) differences.Add("NaN never wins a comparison (nan_rule=ignore) where PyTorch treats NaN as the maximum");
        findings.Add($"max pooling: the implementation ignores the tie_policy/nan_rule attributes and always follows {chosen.Name}" +
                     (differences.Count > 0 ? $"; differs from PyTorch: {string.Join("; ", differences)}" : "; that is PyTorch's rule"));
        for (int k = 0; k < maxPool.Count; k++)
        {
            var (run, index) = maxPool[k];
            if (run.Result.Status != CaseStatus.Fail || !explains[k].Contains(chosen)) continue;
            resolved[index] = run.Result with
            {
                Status = CaseStatus.Pass,
                Summary = $"matches under the implementation's own rules ({chosen.Name})",
                Diffs = [],
                Diagnosis = [],
                Notes = run.Result.Notes.Add($"judged against {chosen.Name}, which the implementation follows; the case declares tie_policy={Attr(run.Item, "tie_policy")}, nan_rule={Attr(run.Item, "nan_rule")}"),
            };
        }
        return findings;
    }

    private static string Attr(WorkItem item, string key) => item.Attrs.Contains(key) ? (string)item.Attrs[key] : "unset";

    private static bool Explains(WorkItem item, Evaluation ev, Hypothesis h)
    {
        var m = (MaxPool)item.Oracle;
        var op = h.Tie is null ? m : Variants.WithRules(m, h.Tie.Value, h.Nan!.Value);
        var output = op.Forward(ev.Inputs);
        if (!Variants.Same(output, ev.Actual, ev.Dtype)) return false;
        return ev.ActualGrads is not null && ev.ActualGrads.Contains("input") && Variants.Same(op.Backward(ev.Inputs, ev.GradOutput)["input"], ev.ActualGrads["input"], ev.Dtype);
    }
}
