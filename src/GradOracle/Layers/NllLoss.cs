using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// nll_loss(input, target, weight, ignore_index, reduction), as torch.nn.functional defines it: input (N, C, *) of
/// log-probabilities, target (N, *) of class indices (integral float64 values), l_j = -w[t_j]·x[j, t_j], and 0 where
/// t_j = ignore_index. mean divides the sum by Σ w[t_j] over the targets not ignored (not by their count: with class
/// weights the two differ); sum does not divide; none keeps one loss each. dx[j, t_j] = -w[t_j]·g, every other element 0.
/// The weight (C) is a constant. Linear in the input, so smooth.
/// </summary>
public sealed class NllLoss(Reduction reduction = Reduction.Mean, int ignoreIndex = -100) : IOp, IHasMagnitudes, IHasJacobianStructure
{
    /// <summary>nll_loss.</summary>
    public static OpDescriptor<NllLoss> Descriptor { get; } = new()
    {
        Name = "nll_loss",
        Inputs = [new("input"), new("target", Differentiable: false, Integral: true, Fill: OpInput.IndicesBelow("input", 1)), new("weight", Optional: true, Differentiable: false)],
        Attributes = [new("ignore_index", "a target value whose loss is 0 and which no mean counts", "-100"), new("reduction", "one of mean, sum, none", "'mean'")],
        Build = a => new NllLoss(a.Enum("reduction", Reduction.Mean), a.Int("ignore_index", -100)),
        KnownBugs = (n, inputs, dy) =>
        [
            BugHypothesis.InWholeAnswer("output: mean divided by the number of targets, not by the sum of their class weights",
                () => n.Reduction == Reduction.Mean && inputs.Contains("weight") ? n.Result(inputs, dy, byCount: true, countIgnored: false) : null),
            BugHypothesis.InWholeAnswer($"output: mean divided by every target, the ignored ones (ignore_index {n.IgnoreIndex}) included",
                () => n.Reduction == Reduction.Mean && !inputs.Contains("weight") ? n.Result(inputs, dy, byCount: true, countIgnored: true) : null),
        ],
        Examples = () =>
        [
            new(new NllLoss(), Inputs(Samples.Distinct(Shape.Of(3, 4), 501), Tensor.Wrap(Shape.Of(3), [2, 0, 3])), ["mean"]),
            new(new NllLoss(), Inputs(Samples.Distinct(Shape.Of(4, 3), 502), Tensor.Wrap(Shape.Of(4), [1, -100, 2, 1]), Tensor.Wrap(Shape.Of(3), [0.5, 2, 1.5])),
                ["weight", "ignored"]),
            new(new NllLoss(Reduction.Sum, ignoreIndex: 1), Inputs(Samples.Distinct(Shape.Of(2, 3, 2, 2), 503), Tensor.Wrap(Shape.Of(2, 2, 2), [0, 1, 2, 2, 1, 0, 1, 2])),
                ["sum", "spatial", "ignore-index"]),
            new(new NllLoss(Reduction.None), Inputs(Samples.Distinct(Shape.Of(2, 3, 2), 504), Tensor.Wrap(Shape.Of(2, 2), [2, -100, 0, 1]), Samples.Positive(Shape.Of(3), 505)),
                ["none", "weight", "ignored"]),
        ],
        DrawCase = d =>
        {
            int classes = d.Int(2, 5), n = d.Int(1, 4);
            var spatial = d.OneIn(2) ? [] : d.Ints(d.Int(1, 2), 1, 3);
            var x = Samples.Distinct(Shape.Of([n, classes, .. spatial]), d.DataSeed);
            bool ignores = d.OneIn(2);
            var target = Tensor.Create(Shape.Of([n, .. spatial]), _ => ignores && d.OneIn(4) ? -100 : d.Rng.Next(classes));
            if (ignores) d.Exercises("ignored");
            var reduction = (Reduction)d.Rng.Next(3);
            var inputs = d.OneIn(2) ? Inputs(x, target, Samples.Positive(Shape.Of(classes), d.DataSeed + 1)) : Inputs(x, target);
            return d.Case(new NllLoss(reduction), inputs, reduction.ToString().ToLowerInvariant());
        },
        DrawWeight = 0.25,
    };

    private static NamedTensors Inputs(Tensor x, Tensor t, Tensor? w = null) =>
        w is null ? new(("input", x), ("target", t)) : new(("input", x), ("target", t), ("weight", w));

    /// <summary>The reduction.</summary>
    public Reduction Reduction { get; } = reduction;

    /// <summary>The target value that is ignored.</summary>
    public int IgnoreIndex { get; } = ignoreIndex;

    /// <inheritdoc/>
    public string Name => "nll_loss";

    /// <inheritdoc/>
    public OpAttributes Attributes => new(("ignore_index", IgnoreIndex), ("reduction", Reduction.ToString().ToLowerInvariant()));

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    /// <summary>Per target: its class (-1 when ignored) and its weight (0 when ignored); the layout of the class axis.</summary>
    private (AxisLayout Classes, int[] Target, double[] Weight) Read(NamedTensors inputs)
    {
        var (x, t) = (inputs["input"], inputs["target"]);
        if (x.Shape.Rank < 2) throw new ParameterException("input.shape", x.Shape.ToString(), "nll_loss takes log-probabilities (N, C, *)");
        var targetShape = Shape.Of([x.Shape[0], .. x.Shape.Slice(2)]);
        if (t.Shape != targetShape) throw new ParameterException("target.shape", t.Shape.ToString(), $"must be (N, *) = {targetShape} for input {x.Shape}");
        int classes = x.Shape[1];
        if (inputs.Contains("weight") && inputs["weight"].Shape != Shape.Of(classes))
            throw new ParameterException("weight.shape", inputs["weight"].Shape.ToString(), $"must be (C) = ({classes})");
        var (target, weight) = (new int[t.Count], new double[t.Count]);
        for (int j = 0; j < t.Count; j++)
        {
            double v = t.At(j);
            if (v == IgnoreIndex) { target[j] = -1; continue; }
            if (v != Math.Floor(v) || v < 0 || v >= classes)
                throw new ParameterException($"target[{string.Join(", ", t.Shape.Coordinates(j))}]", Tensor.FormatNumber(v),
                    $"a class index must be an integer in 0..{classes - 1} (C = {classes}) or ignore_index ({IgnoreIndex})");
            target[j] = (int)v;
            weight[j] = inputs.Contains("weight") ? inputs["weight"].At(target[j]) : 1;
        }
        return (AxisLayout.Of(x.Shape, 1), target, weight);
    }

    private Shape OutputShape(NamedTensors inputs) => Reduction == Reduction.None ? inputs["target"].Shape : Shape.Of();

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs) => Result(inputs, null).Output;

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        Tensor.RequireShape("grad_output", gradOutput, OutputShape(inputs));
        return Result(inputs, gradOutput).Grads;
    }

    /// <summary>
    /// The loss and, given grad_output, its gradient. The mean's divisor is Σ w[t_j] over the targets kept; for the bugs,
    /// their count (<paramref name="byCount"/>) and the ignored ones too (<paramref name="countIgnored"/>).
    /// </summary>
    private OpResult Result(NamedTensors inputs, Tensor? gradOutput, bool byCount = false, bool countIgnored = false)
    {
        var x = inputs["input"];
        var (a, target, weight) = Read(inputs);
        var losses = new double[target.Length];
        double divisor = 0;
        for (int j = 0; j < target.Length; j++)
        {
            if (target[j] >= 0) losses[j] = -weight[j] * x.At(a.At(j / a.Inner, target[j], j % a.Inner));
            if (target[j] >= 0 || countIgnored) divisor += byCount ? 1 : weight[j];
        }
        double sum = 0;
        foreach (var l in losses) sum += l;
        var output = Reduction == Reduction.None ? Tensor.Wrap(inputs["target"].Shape, losses)
            : Tensor.Wrap(Shape.Of(), [Reduction == Reduction.Sum ? sum : sum / divisor]); // all ignored: 0/0, NaN, as PyTorch gives
        if (gradOutput is null) return new OpResult(output, NamedTensors.Input(Tensor.Zeros(x.Shape)));
        var dx = new double[x.Count];
        for (int j = 0; j < target.Length; j++)
        {
            if (target[j] < 0) continue;
            // Every target ignored: the NaN mean does not depend on the input, and libtorch's gradient is 0.
            double g = Reduction switch { Reduction.None => gradOutput.At(j), Reduction.Sum => gradOutput.At(0), _ => divisor == 0 ? 0 : gradOutput.At(0) / divisor };
            dx[a.At(j / a.Inner, target[j], j % a.Inner)] = -weight[j] * g;
        }
        return new OpResult(output, NamedTensors.Input(Tensor.Wrap(x.Shape, dx)));
    }

    /// <summary>Per element: the loss sums |w·x| over the targets (divided by the mean's divisor); the gradient is one product.</summary>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput)
    {
        var abs = inputs.With("input", Magnitudes.Abs(inputs["input"]));
        if (abs.Contains("weight")) abs = abs.With("weight", Magnitudes.Abs(abs["weight"]));
        var r = Result(abs, Magnitudes.Abs(gradOutput));
        return new OpResult(Magnitudes.Abs(r.Output), NamedTensors.Input(Magnitudes.Abs(r.Grads["input"])));
    }

    /// <inheritdoc/>
    public bool IsSmooth => true; // linear in the input

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) => null;
}
