using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// Judges an activation's (or a pointwise loss's) gradient at its kinks: each element at a kink may take any slope
/// between the one-sided ones (elementwise, so each element on its own); away from them the gradient is determined, and
/// a difference there is an ordinary mismatch. Names the choice an answer made where it is one of the situation's.
/// </summary>
internal static class KinkJudge
{
    public static ConventionJudgement Judge(KinkedActivation op, NamedTensors inputs, Tensor gradOutput, OpResult answer, AnswerComparer compare, IReadOnlyDictionary<string, string> required)
    {
        var x = inputs["input"];
        string where = $"{op.Name} at {string.Join(" and ", op.Kinks.Where(k => k.IsKink).Select(k => Tensor.FormatNumber(k.At)))}";
        return op.Situations.Count == 0 ? ConventionJudgement.NotAConventionMatter
            : Judge(op, op.Situation, where, i => op.KinkAt(x.At(i)), inputs, gradOutput, answer, compare, required);
    }

    /// <summary>
    /// The same judgement for any op whose input gradient is elementwise with a kink per element (prelu's slope is
    /// its channel's weight): <paramref name="kinkAt"/> gives element i's kink or null; every other gradient must agree.
    /// <paramref name="upstream"/> is what element i's slope multiplies (grad_output's element, or a reduced loss's share of
    /// it). For a function of x - t, <paramref name="mirror"/> names t's gradient: at a kink it must be -dx (the generalized
    /// gradient of f(x - t) is {(s, -s)}), elsewhere the oracle's.
    /// </summary>
    public static ConventionJudgement Judge(IOp op, Situation situation, string where, Func<int, Kink?> kinkAt, NamedTensors inputs, Tensor gradOutput, OpResult answer,
        AnswerComparer compare, IReadOnlyDictionary<string, string> required, Func<int, double>? upstream = null, string? mirror = null)
    {
        var x = inputs["input"];
        upstream ??= gradOutput.At;
        if (!answer.Grads.Contains("input") || !compare.Same("output", op.Forward(inputs), answer.Output))
            return ConventionJudgement.NotAConventionMatter;
        var oracle = op.Backward(inputs, gradOutput);
        var dx = answer.Grads["input"];
        foreach (var name in oracle.Names.Where(n => n != "input"))
        {
            if (!answer.Grads.Contains(name)) return ConventionJudgement.NotAConventionMatter;
            var (mine, theirs) = (oracle[name], answer.Grads[name]);
            bool agrees = name != mirror ? compare.Same($"grads.{name}", mine, theirs)
                : theirs.Shape == mine.Shape && dx.Shape == mine.Shape
                  && Enumerable.Range(0, mine.Count).All(i => compare.Agrees($"grads.{name}", i, kinkAt(i) is { IsKink: true } ? -dx.At(i) : mine.At(i), theirs.At(i)));
            if (!agrees) return ConventionJudgement.NotAConventionMatter;
        }
        var expected = oracle["input"];
        if (compare.Same("grads.input", expected, dx)) return new ConventionJudgement(true, [], null); // its own rule
        var atKink = Enumerable.Range(0, x.Count).Where(i => kinkAt(i) is { IsKink: true }).ToList();
        if (atKink.Count == 0 || Enumerable.Range(0, x.Count).Any(i => kinkAt(i) is not { IsKink: true } && !compare.Agrees("grads.input", i, expected.At(i), dx.At(i))))
            return ConventionJudgement.NotAConventionMatter;

        double u = DtypeTolerance.UnitRoundoff(compare.Dtype);
        double D(int i) => DtypeTolerance.Round(dx.At(i), compare.Dtype);
        // The slope itself is rounded in the implementation's dtype too (1/6, selu's scale·alpha): 4u of the product.
        bool At(int i, double slope) => Math.Abs(D(i) - slope * upstream(i)) <= 4 * u * Math.Abs(slope * upstream(i));
        string F(double s) => Tensor.FormatNumber(s);

        foreach (var i in atKink)
        {
            var k = kinkAt(i)!;
            double d = D(i), g = upstream(i), lo = k.Lo * g, hi = k.Hi * g;
            double slack = 4 * u * Math.Max(Math.Abs(lo), Math.Abs(hi));
            bool inside = double.IsFinite(d) && d >= Math.Min(lo, hi) - slack && d <= Math.Max(lo, hi) + slack;
            if (!inside)
                return new(false, [], $"input[{string.Join(", ", x.Shape.Coordinates(i))}] = {F(x.At(i))}: dx = {F(d)} lies outside [{F(k.Lo)}, {F(k.Hi)}]·dy = " +
                                      $"[{F(Math.Min(lo, hi))}, {F(Math.Max(lo, hi))}], the slopes {op.Name} has on either side of {F(k.At)}");
        }
        var decided = atKink.Where(i => upstream(i) != 0).ToList();
        string? Common()
        {
            foreach (var choice in situation.Choices.OrderBy(c => c == situation.PyTorch ? 0 : 1))
                if (decided.All(i => At(i, kinkAt(i)!.Slope(choice)))) return choice;
            return null;
        }
        string? common = decided.Count == 0 ? situation.PyTorch : Common();
        var conventions = new List<Convention>();
        if (common is null)
            conventions.Add(new(situation.Key, "mixed", decided.Count, $"{where}: slopes between the one-sided ones but no one side's, at {decided.Count} element(s) (PyTorch: {situation.PyTorch})"));
        else if (common != situation.PyTorch)
            conventions.Add(new(situation.Key, common, decided.Count, $"{where}: the {common} slope, at {decided.Count} element(s) (PyTorch: {situation.PyTorch})"));
        if (required.TryGetValue(situation.Key, out var want) && decided.Any(i => !At(i, kinkAt(i)!.Slope(want))))
            return new(false, [.. conventions], $"{(conventions.Count > 0 ? conventions[0].Text : $"{where}: PyTorch's {situation.PyTorch} slope")}, where {situation.Key}={want} is required", situation.Key);
        return new(true, [.. conventions], null);
    }
}
