using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing) as torch.nn.functional defines it.
/// input (N, C, *) of logits; target either (N, *) class indices (integral float64 values) or, shaped like the input,
/// class probabilities. Both read as a distribution q over the classes: onehot(t) or the probabilities, smoothed to
/// (1 - ε)·q + ε/C. Each loss is -Σ_c q_c·w_c·log softmax(x)_c (w the class weights, 1 without), 0 where t =
/// ignore_index. mean divides the sum by Σ w[t] over the indices kept (PyTorch's nll_loss rule, which its smoothing
/// term shares), or for probabilities by N × spatial; sum does not divide. dx_k = g·(p_k·Σ_c q_c·w_c - q_k·w_k).
/// The target and weight are constants here.
/// </summary>
public sealed class CrossEntropy : IOp, IHasInvariants, IHasMagnitudes
{
    /// <summary>cross_entropy with PyTorch's defaults: mean, ignore_index -100, no smoothing.</summary>
    public CrossEntropy(Reduction reduction = Reduction.Mean, int ignoreIndex = -100, double labelSmoothing = 0)
    {
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
            throw new ParameterException("label_smoothing", Tensor.FormatNumber(labelSmoothing), "must be in [0, 1] (PyTorch: label_smoothing must be between 0.0 and 1.0)");
        Reduction = reduction;
        IgnoreIndex = ignoreIndex;
        LabelSmoothing = labelSmoothing;
    }

    /// <summary>cross_entropy.</summary>
    public static OpDescriptor<CrossEntropy> Descriptor { get; } = new()
    {
        Name = "cross_entropy",
        Inputs =
        [
            new("input"),
            new("target", Differentiable: false, Integral: true, IntegralWhen: inputs => !HoldsProbabilities(inputs), Fill: OpInput.IndicesBelow("input", 1)),
            new("weight", Optional: true, Differentiable: false),
        ],
        Attributes =
        [
            new("ignore_index", "a class-index target whose loss is 0 and which no mean counts (class indices only)", "-100"),
            new("reduction", "one of mean, sum, none", "'mean'"),
            new("label_smoothing", "ε in [0, 1]: the target becomes (1 - ε)·q + ε/C", "0.0"),
        ],
        Build = a => new CrossEntropy(a.Enum("reduction", Reduction.Mean), a.Int("ignore_index", -100), a.Double("label_smoothing", 0)),
        Invariants = [LayerInvariants.RowsSumToZeroName],
        KnownBugs = Bugs,
        Examples = () =>
        [
            new(new CrossEntropy(), Inputs(Samples.Distinct(Shape.Of(4, 3), 511), Tensor.Wrap(Shape.Of(4), [1, -100, 2, 0]), Samples.Positive(Shape.Of(3), 512)),
                ["mean", "weight", "ignored"]),
            new(new CrossEntropy(Reduction.Sum, labelSmoothing: 0.1), Inputs(Samples.Distinct(Shape.Of(2, 3, 2), 513), Tensor.Wrap(Shape.Of(2, 2), [0, 2, 1, 1]),
                Samples.Positive(Shape.Of(3), 514)), ["sum", "label-smoothing", "weight", "spatial"]),
            new(new CrossEntropy(ignoreIndex: 1, labelSmoothing: 0.3), Inputs(Samples.Distinct(Shape.Of(5, 4), 515), Tensor.Wrap(Shape.Of(5), [3, 1, 0, 1, 2])),
                ["mean", "label-smoothing", "ignore-index"]),
            new(new CrossEntropy(labelSmoothing: 0.2), Inputs(Samples.Distinct(Shape.Of(3, 4), 516), Probabilities(Shape.Of(3, 4), 517), Samples.Positive(Shape.Of(4), 518)),
                ["mean", "probabilities", "label-smoothing", "weight"]),
            new(new CrossEntropy(Reduction.None), Inputs(Samples.Distinct(Shape.Of(2, 3, 2), 519), Probabilities(Shape.Of(2, 3, 2), 520)),
                ["none", "probabilities", "spatial"]),
        ],
        DrawCase = d =>
        {
            int classes = d.Int(2, 5), n = d.Int(1, 4);
            var spatial = d.OneIn(2) ? [] : d.Ints(d.Int(1, 2), 1, 3);
            var shape = Shape.Of([n, classes, .. spatial]);
            var x = Samples.Distinct(shape, d.DataSeed);
            bool probabilities = d.OneIn(3), ignores = !probabilities && d.OneIn(3);
            int ignore = ignores && d.OneIn(2) ? d.Rng.Next(classes) : -100;
            var target = probabilities ? Probabilities(shape, d.DataSeed + 2)
                : Tensor.Create(Shape.Of([n, .. spatial]), _ => ignores && d.OneIn(4) ? ignore : d.Rng.Next(classes));
            double smoothing = d.OneIn(3) ? new[] { 0.1, 0.25, 1 }[d.Rng.Next(3)] : 0;
            if (probabilities) d.Exercises("probabilities");
            if (ignores) d.Exercises(ignore == -100 ? "ignored" : "ignore-index");
            if (smoothing > 0) d.Exercises("label-smoothing");
            var reduction = (Reduction)d.Rng.Next(3);
            var inputs = d.OneIn(2) ? Inputs(x, target, Samples.Positive(Shape.Of(classes), d.DataSeed + 1)) : Inputs(x, target);
            if (inputs.Contains("weight")) d.Exercises("weight");
            return d.Case(new CrossEntropy(reduction, ignore, smoothing), inputs, reduction.ToString().ToLowerInvariant());
        },
    };

    private static NamedTensors Inputs(Tensor x, Tensor t, Tensor? w = null) =>
        w is null ? new(("input", x), ("target", t)) : new(("input", x), ("target", t), ("weight", w));

    /// <summary>Positive values summing to 1 along the class axis (1): a probability target.</summary>
    private static Tensor Probabilities(Shape shape, int seed)
    {
        var raw = Samples.Positive(shape, seed);
        var a = AxisLayout.Of(shape, 1);
        var q = raw.ToArray();
        for (int o = 0; o < a.Outer; o++)
            for (int i = 0; i < a.Inner; i++)
            {
                double sum = 0;
                for (int k = 0; k < a.Length; k++) sum += q[a.At(o, k, i)];
                for (int k = 0; k < a.Length; k++) q[a.At(o, k, i)] /= sum;
            }
        return Tensor.Wrap(shape, q);
    }

    /// <summary>PyTorch's rule: a target shaped like the input holds class probabilities, any other class indices.</summary>
    private static bool HoldsProbabilities(NamedTensors inputs) =>
        inputs.Contains("input") && inputs.Contains("target") && inputs["target"].Shape == inputs["input"].Shape;

    private static IEnumerable<BugHypothesis> Bugs(CrossEntropy c, NamedTensors inputs, Tensor dy)
    {
        bool probabilities = HoldsProbabilities(inputs), mean = c.Reduction == Reduction.Mean;
        if (c.LabelSmoothing > 0 && !probabilities && inputs["input"].Shape[1] > 1)
            yield return BugHypothesis.InWholeAnswer($"output: label_smoothing spreads ε = {Tensor.FormatNumber(c.LabelSmoothing)} over the C - 1 other classes, not ε/C over all C",
                () => c.Result(inputs, dy, new Variant(SmoothOthers: true)));
        if (c.LabelSmoothing > 0)
            yield return BugHypothesis.InWholeAnswer("output: label_smoothing adds ε/C to the target without scaling it by 1 - ε",
                () => c.Result(inputs, dy, new Variant(Unscaled: true)));
        if (mean && !probabilities && inputs.Contains("weight"))
            yield return BugHypothesis.InWholeAnswer("output: mean divided by the number of targets, not by the sum of their class weights",
                () => c.Result(inputs, dy, new Variant(ByCount: true)));
        if (mean && !probabilities && !inputs.Contains("weight"))
            yield return BugHypothesis.InWholeAnswer($"output: mean divided by every target, the ignored ones (ignore_index {c.IgnoreIndex}) included",
                () => c.Result(inputs, dy, new Variant(ByCount: true, CountIgnored: true)));
        if (mean && probabilities)
            yield return BugHypothesis.InWholeAnswer("output: mean over probability targets divided by every element (N × C × spatial), not by N × spatial",
                () => c.Result(inputs, dy, new Variant(ByElements: true)));
    }

    /// <summary>The reduction.</summary>
    public Reduction Reduction { get; }

    /// <summary>The class-index target whose loss is 0.</summary>
    public int IgnoreIndex { get; }

    /// <summary>ε: the target is (1 - ε)·q + ε/C.</summary>
    public double LabelSmoothing { get; }

    /// <inheritdoc/>
    public string Name => "cross_entropy";

    /// <inheritdoc/>
    public OpAttributes Attributes => new(("ignore_index", IgnoreIndex), ("reduction", Reduction.ToString().ToLowerInvariant()), ("label_smoothing", LabelSmoothing));

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    /// <summary>The known bugs' departures from PyTorch's rule; the default is the rule.</summary>
    private readonly record struct Variant(bool SmoothOthers = false, bool Unscaled = false, bool ByCount = false, bool CountIgnored = false, bool ByElements = false);

    /// <summary>
    /// The target read as q·w per element of the input (0 for an ignored target), the mean's divisor and the output shape.
    /// </summary>
    private (AxisLayout Classes, double[] Qw, double Divisor, Shape OutputShape) Read(NamedTensors inputs, Variant v)
    {
        var (x, t) = (inputs["input"], inputs["target"]);
        if (x.Shape.Rank < 2)
            throw new ParameterException("input.shape", x.Shape.ToString(), "cross_entropy takes logits (N, C, *)");
        var a = AxisLayout.Of(x.Shape, 1);
        int classes = a.Length;
        if (inputs.Contains("weight") && inputs["weight"].Shape != Shape.Of(classes))
            throw new ParameterException("weight.shape", inputs["weight"].Shape.ToString(), $"must be (C) = ({classes})");
        double W(int k) => inputs.Contains("weight") ? inputs["weight"].At(k) : 1;
        var targetShape = Shape.Of([x.Shape[0], .. x.Shape.Slice(2)]);
        bool probabilities = HoldsProbabilities(inputs);
        if (!probabilities && t.Shape != targetShape)
            throw new ParameterException("target.shape", t.Shape.ToString(), $"must be (N, *) = {targetShape} (class indices) or the input's {x.Shape} (probabilities)");
        if (probabilities && IgnoreIndex >= 0)
            throw new ParameterException("ignore_index", IgnoreIndex.ToString(), "is not supported with probability targets (PyTorch: ignore_index is not supported for floating point target)");
        double eps = LabelSmoothing, keep = v.Unscaled ? 1 : 1 - eps;
        var qw = new double[x.Count];
        double divisor = 0;
        for (int o = 0; o < a.Outer; o++)
            for (int i = 0; i < a.Inner; i++)
            {
                int j = o * a.Inner + i;
                if (probabilities)
                {
                    for (int k = 0; k < classes; k++) qw[a.At(o, k, i)] = (keep * t.At(a.At(o, k, i)) + eps / classes) * W(k);
                    divisor += v.ByElements ? classes : 1;
                    continue;
                }
                double value = t.At(j);
                if (value == IgnoreIndex)
                {
                    if (v.CountIgnored) divisor += 1;
                    continue;
                }
                if (value != Math.Floor(value) || value < 0 || value >= classes)
                    throw new ParameterException($"target[{string.Join(", ", t.Shape.Coordinates(j))}]", Tensor.FormatNumber(value),
                        $"a class index must be an integer in 0..{classes - 1} (C = {classes}) or ignore_index ({IgnoreIndex})");
                int target = (int)value;
                for (int k = 0; k < classes; k++)
                {
                    double spread = v.SmoothOthers ? (k == target ? 0 : eps / (classes - 1)) : eps / classes;
                    qw[a.At(o, k, i)] = ((k == target ? keep : 0) + spread) * W(k);
                }
                divisor += v.ByCount ? 1 : W(target);
            }
        return (a, qw, divisor, Reduction == Reduction.None ? targetShape : Shape.Of());
    }

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs) => Result(inputs, null, default).Output;

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput) => Result(inputs, gradOutput, default).Grads;

    /// <summary>The loss and, given grad_output, its gradient, under PyTorch's rule or a known bug's.</summary>
    private OpResult Result(NamedTensors inputs, Tensor? gradOutput, Variant v)
    {
        var x = inputs["input"];
        var (a, qw, divisor, outShape) = Read(inputs, v);
        var logp = Softmax.Probabilities(x, a, log: true);
        var losses = new double[a.Outer * a.Inner];
        for (int o = 0; o < a.Outer; o++)
            for (int i = 0; i < a.Inner; i++)
                for (int k = 0; k < a.Length; k++)
                {
                    int at = a.At(o, k, i);
                    if (qw[at] != 0) losses[o * a.Inner + i] -= qw[at] * logp[at]; // q·w = 0 adds nothing, even where log p is -inf
                }
        double sum = 0;
        foreach (var l in losses) sum += l;
        var output = Reduction == Reduction.None ? Tensor.Wrap(outShape, losses)
            : Tensor.Wrap(outShape, [Reduction == Reduction.Sum ? sum : sum / divisor]); // every target ignored: 0/0, NaN, as PyTorch gives
        if (gradOutput is null) return new OpResult(output, NamedTensors.Input(Tensor.Zeros(x.Shape)));
        Tensor.RequireShape("grad_output", gradOutput, outShape);
        var p = Softmax.Probabilities(x, a, log: false);
        var dx = new double[x.Count];
        for (int o = 0; o < a.Outer; o++)
            for (int i = 0; i < a.Inner; i++)
            {
                int j = o * a.Inner + i;
                // Every target ignored: the NaN mean does not depend on the input, and libtorch's gradient is 0.
                double g = Reduction switch { Reduction.None => gradOutput.At(j), Reduction.Sum => gradOutput.At(0), _ => divisor == 0 ? 0 : gradOutput.At(0) / divisor };
                double mass = 0;
                for (int k = 0; k < a.Length; k++) mass += qw[a.At(o, k, i)];
                for (int k = 0; k < a.Length; k++)
                {
                    int at = a.At(o, k, i);
                    dx[at] = g * (p[at] * mass - qw[at]);
                }
            }
        return new OpResult(output, NamedTensors.Input(Tensor.Wrap(x.Shape, dx)));
    }

    /// <summary>
    /// What each element sums: a loss is Σ_c q_c·w_c·(log Σ exp(x - max) + max - x_c), with Σ_c |q_c·w_c|·(|x_c| + |max| +
    /// |log Σ| + 1) (summed over the elements a reduction adds, divided by |divisor| for mean); dx_k = g·(p_k·Σ q·w - q_k·w_k)
    /// has |g|·(p_k·(1 + |x_k| + |max|)·Σ |q·w| + |q_k·w_k|).
    /// </summary>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput)
    {
        var x = inputs["input"];
        var (a, qw, divisor, outShape) = Read(inputs, default);
        var p = Softmax.Probabilities(x, a, log: false);
        var losses = new double[a.Outer * a.Inner];
        var dx = new double[x.Count];
        for (int o = 0; o < a.Outer; o++)
            for (int i = 0; i < a.Inner; i++)
            {
                int j = o * a.Inner + i;
                double max = double.NegativeInfinity, sum = 0, mass = 0;
                for (int k = 0; k < a.Length; k++) max = Math.Max(max, x.At(a.At(o, k, i)));
                for (int k = 0; k < a.Length; k++) sum += Math.Exp(x.At(a.At(o, k, i)) - max);
                for (int k = 0; k < a.Length; k++)
                {
                    int at = a.At(o, k, i);
                    mass += Math.Abs(qw[at]);
                    losses[j] += Math.Abs(qw[at]) * (Math.Abs(x.At(at)) + Math.Abs(max) + Math.Abs(Math.Log(sum)) + 1); // + 1: log Σ's rounding
                }
                double g = Math.Abs(Reduction switch { Reduction.None => gradOutput.At(j), Reduction.Sum => gradOutput.At(0), _ => divisor == 0 ? 0 : gradOutput.At(0) / divisor });
                for (int k = 0; k < a.Length; k++)
                {
                    int at = a.At(o, k, i);
                    dx[at] = g * (p[at] * (1 + Math.Abs(x.At(at)) + Math.Abs(max)) * mass + Math.Abs(qw[at]));
                }
            }
        var output = Reduction == Reduction.None ? Tensor.Wrap(outShape, losses)
            : Tensor.Wrap(outShape, [Reduction == Reduction.Sum ? losses.Sum() : losses.Sum() / Math.Abs(divisor)]);
        return new OpResult(output, NamedTensors.Input(Tensor.Wrap(x.Shape, dx)));
    }

    /// <inheritdoc/>
    public InvariantReport CheckInvariants(NamedTensors inputs, Tensor gradOutput, NamedTensors gradients) =>
        LayerInvariants.RowsSumToZero(inputs["input"], AxisLayout.Of(inputs["input"].Shape, 1), gradients["input"], MagnitudesOf(inputs, gradOutput).Grads["input"], "class axis");
}
