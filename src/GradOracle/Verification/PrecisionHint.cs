using GradOracle.Layers;

namespace GradOracle.Verification;

/// <summary>
/// For a float64 implementation that fails: whether its answer passes when judged as float32 (its differences are
/// float32's rounding), checked, not guessed, with how many of its values are exactly float32 numbers. Only
/// float32: the wider allowances of float16 and bfloat16 would let answers pass that are wrong for other reasons.
/// </summary>
internal static class PrecisionHint
{
    public static string? For(Evaluation ev)
    {
        const string dtype = "float32";
        if (ev.Dtype != "float64" || ev.Expected is null || ev.Actual is null || ev.Rules is null) return null;
        if (ev.Expected.Keys.Any(k => ev.Actual[k] is not { } a || a.Shape != ev.Expected[k]!.Shape)) return null;
        var compare = new AnswerComparer(dtype, DtypeTolerance.Allowances(ev.Rules.Rule, ev.Inputs, ev.GradOutput, ev.Expected, dtype));
        bool passes = compare.Same(ev.Expected, ev.Actual)
            || ev.Rules.Rule is IHasConventions h && h.Judge(ev.Inputs, ev.GradOutput, ev.Actual, compare, ev.Rules.Required).Allowed;
        if (!passes) return null;
        var values = ev.Actual.Keys.SelectMany(k => ev.Actual[k]!.ToArray()).Where(double.IsFinite).ToList();
        int exact = values.Count(v => DtypeTolerance.Round(v, dtype) == v);
        return $"every difference is within {dtype}'s rounding (the answer passes when judged as {dtype}; {exact} of its {values.Count} finite values are {dtype} numbers): " +
               $"the implementation computes in {dtype}? then declare \"dtype\": \"{dtype}\" in its hello";
    }
}
