using System.Globalization;
using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// relu's and leaky_relu's gradient at x = 0, where they have no derivative: any slope between the one-sided
/// ones is valid, [0, 1]·dy for relu and [negative_slope, 1]·dy for leaky_relu (elementwise, so each element
/// on its own). PyTorch takes the left slope.
/// </summary>
internal static class ActivationConventions
{
    public static readonly Situation ReluAtZero = new("relu_at_zero", "relu at x = 0", "0", [], Range: (0, 1));

    public static readonly Situation LeakyAtZero = new("leaky_relu_at_zero", "leaky_relu at x = 0", "negative_slope", ["negative_slope", "1"]);

    public static IReadOnlyList<Situation> Of(ActivationKind kind) => kind switch
    {
        ActivationKind.Relu => [ReluAtZero],
        ActivationKind.LeakyRelu => [LeakyAtZero],
        _ => [],
    };

    public static IReadOnlyDictionary<string, string> Choices(Activation op) => op.Kind switch
    {
        ActivationKind.Relu => new Dictionary<string, string> { [ReluAtZero.Key] = op.SlopeAtZero.ToString("R", CultureInfo.InvariantCulture) },
        ActivationKind.LeakyRelu => new Dictionary<string, string>
        {
            [LeakyAtZero.Key] = op.SlopeAtZero == op.NegativeSlope ? "negative_slope" : op.SlopeAtZero == 1 ? "1" : op.SlopeAtZero.ToString("R", CultureInfo.InvariantCulture),
        },
        _ => new Dictionary<string, string>(),
    };

    public static IReadOnlyList<string> SituationsAt(Activation op, NamedTensors inputs) =>
        Of(op.Kind).Count > 0 && inputs["input"].Span.IndexOfAny(0.0, -0.0) >= 0 ? [Of(op.Kind)[0].Key] : [];

    public static IOp WithConventions(Activation op, IReadOnlyDictionary<string, string> choices)
    {
        var situation = Of(op.Kind).FirstOrDefault();
        if (situation is null || !choices.TryGetValue(situation.Key, out var choice)) return op;
        return op.WithSlopeAtZero(Slope(op, choice));
    }

    private static double Slope(Activation op, string choice) =>
        choice == "negative_slope" ? op.NegativeSlope : double.Parse(choice, CultureInfo.InvariantCulture);

    /// <summary>A slope as the shortest decimal that the implementation's dtype rounds to it (0.3, not 0.30000001192092896 from float32).</summary>
    private static string Shortest(double slope, string dtype) => dtype switch
    {
        "float32" => ((float)slope).ToString("R", CultureInfo.InvariantCulture),
        "float16" or "bfloat16" => ((float)slope).ToString("G4", CultureInfo.InvariantCulture),
        _ => slope.ToString("R", CultureInfo.InvariantCulture),
    };

    public static ConventionJudgement Judge(Activation op, NamedTensors inputs, Tensor gradOutput, OpResult answer, AnswerComparer compare, IReadOnlyDictionary<string, string> required)
    {
        var situation = Of(op.Kind).FirstOrDefault();
        var x = inputs["input"];
        if (situation is null || !answer.Grads.Contains("input") || !compare.Same("output", op.Forward(inputs), answer.Output))
            return ConventionJudgement.NotAConventionMatter;
        var dx = answer.Grads["input"];
        var expected = op.Backward(inputs, gradOutput)["input"];
        if (compare.Same("grads.input", expected, dx)) return new ConventionJudgement(true, [], null); // its own rule
        var zeros = Enumerable.Range(0, x.Count).Where(i => x.At(i) == 0).ToList();
        // Away from 0 the gradient is determined: a difference there is an ordinary mismatch.
        if (zeros.Count == 0 || Enumerable.Range(0, x.Count).Any(i => x.At(i) != 0 && !compare.Agrees("grads.input", i, expected.At(i), dx.At(i))))
            return ConventionJudgement.NotAConventionMatter;
        double lo = Math.Min(op.NegativeSlope, 1), hi = Math.Max(op.NegativeSlope, 1);
        double u = DtypeTolerance.UnitRoundoff(compare.Dtype);
        bool At(int i, double slope) => Math.Abs(DtypeTolerance.Round(dx.At(i), compare.Dtype) - slope * gradOutput.At(i)) <= 4 * u * Math.Abs(gradOutput.At(i));
        string Where(int i) => $"input[{string.Join(", ", x.Shape.Coordinates(i))}] = {Tensor.FormatNumber(x.At(i))}";
        string F(double s) => Tensor.FormatNumber(s);

        foreach (var i in zeros)
        {
            double d = DtypeTolerance.Round(dx.At(i), compare.Dtype), g = gradOutput.At(i);
            bool inside = double.IsFinite(d) && (g == 0 ? At(i, 0) : d / g >= lo - 4 * u && d / g <= hi + 4 * u);
            if (!inside)
                return new(false, [], $"{Where(i)}: dx = {Tensor.FormatNumber(d)} lies outside [{F(lo)}, {F(hi)}]·dy = [{F(lo * g)}, {F(hi * g)}], " +
                                      $"the slopes {op.Name} has on either side of 0");
        }
        var decided = zeros.Where(i => gradOutput.At(i) != 0).ToList();
        double pytorch = op.Kind == ActivationKind.Relu ? 0 : op.NegativeSlope;
        double? Common()
        {
            if (decided.Count == 0) return pytorch;
            foreach (var slope in new[] { pytorch, 1, 0.5 })
                if (decided.All(i => At(i, slope))) return slope;
            double first = DtypeTolerance.Round(dx.At(decided[0]), compare.Dtype) / gradOutput.At(decided[0]);
            return decided.All(i => At(i, first)) ? first : null;
        }
        double? common = Common();
        string pytorchText = op.Kind == ActivationKind.Relu ? "0" : $"negative_slope = {F(op.NegativeSlope)}";
        var conventions = new List<Convention>();
        if (common is not { } c)
            conventions.Add(new(situation.Key, "mixed", decided.Count, $"{op.Name} at x = 0: slopes of several values in [{F(lo)}, {F(hi)}], at {decided.Count} element(s) (PyTorch: {pytorchText})"));
        else if (c != pytorch)
            conventions.Add(new(situation.Key, op.Kind == ActivationKind.LeakyRelu && c == 1 ? "1" : Shortest(c, compare.Dtype), decided.Count,
                $"{op.Name} at x = 0: gradient {F(c)}·dy, at {decided.Count} element(s) (PyTorch: {pytorchText})"));
        else if (required.TryGetValue(situation.Key, out var asked) && Slope(op, asked) != pytorch && decided.Count > 0)
            conventions.Add(new(situation.Key, op.Kind == ActivationKind.LeakyRelu ? "negative_slope" : "0", decided.Count,
                $"{op.Name} at x = 0: PyTorch's slope {pytorchText}, at {decided.Count} element(s)"));
        if (required.TryGetValue(situation.Key, out var want))
        {
            double s = Slope(op, want);
            if (!decided.All(i => At(i, s)))
                return new(false, [.. conventions], $"{(conventions.Count > 0 ? conventions[0].Text : $"{op.Name} at x = 0: PyTorch's slope {pytorchText}")}, where {situation.Key}={want} is required", situation.Key);
        }
        return new(true, [.. conventions], null);
    }
}
