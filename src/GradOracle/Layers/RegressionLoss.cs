using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// l1_loss, smooth_l1_loss(beta) and huber_loss(delta), as torch.nn.functional defines them on d = x - t:
/// |d|; 0.5·d²/beta where |d| &lt; beta, else |d| - 0.5·beta (l1 for beta = 0); 0.5·d² where |d| ≤ delta, else
/// delta·(|d| - 0.5·delta). Slopes sign(d); d/beta clamped to ±1; d clamped to ±delta. Both inputs are differentiable,
/// dt = -dx. Smooth l1 and Huber are C¹ (no kink at ±beta, ±delta); l1 has one at d = 0, where any slope in [-1, 1] is
/// valid for dx (with dt = -dx): PyTorch's sign(0) = 0 is the mean.
/// </summary>
public sealed class RegressionLoss : IOp, IHasConventions, IHasMagnitudes, IHasJacobianStructure
{
    private static readonly Situation AtZero = new("l1_at_zero", "l1 loss where input = target", Kink.Mean, ["left", "right", Kink.Mean]);
    private static readonly Kink Corner = new(0, -1, 1);
    private readonly PointwiseReduction reduce;

    private RegressionLoss(string name, double parameter, Reduction reduction, string choice = Kink.Mean)
    {
        Name = name;
        Parameter = parameter;
        reduce = new(reduction);
        Choice = choice;
    }

    /// <summary>l1_loss.</summary>
    public static RegressionLoss L1(Reduction reduction = Reduction.Mean) => new("l1_loss", 0, reduction);

    /// <summary>smooth_l1_loss with <paramref name="beta"/> ≥ 0.</summary>
    public static RegressionLoss SmoothL1(double beta = 1, Reduction reduction = Reduction.Mean) =>
        beta >= 0 ? new("smooth_l1_loss", beta, reduction) : throw new ParameterException("beta", Tensor.FormatNumber(beta), "must be non-negative");

    /// <summary>huber_loss with <paramref name="delta"/> &gt; 0.</summary>
    public static RegressionLoss Huber(double delta = 1, Reduction reduction = Reduction.Mean) =>
        delta > 0 ? new("huber_loss", delta, reduction) : throw new ParameterException("delta", Tensor.FormatNumber(delta), "must be positive");

    private static readonly OpAttribute ReductionAttribute = new("reduction", "one of mean, sum, none", "'mean'");

    /// <summary>l1_loss.</summary>
    public static OpDescriptor<RegressionLoss> L1Descriptor { get; } = new()
    {
        Name = "l1_loss",
        Inputs = [new("input"), new("target")],
        Attributes = [ReductionAttribute],
        Build = a => L1(a.Enum("reduction", Reduction.Mean)),
        Kinks = [AtZero],
        KnownBugs = Bugs,
        Examples = () =>
        [
            Example(L1(), Shape.Of(2, 3), 511, "mean"),
            Example(L1(Reduction.Sum), Shape.Of(2, 2, 2), 512, "sum", "equal"),
            Example(L1(Reduction.None), Shape.Of(5), 513, "none", "equal"),
        ],
        DrawCase = d => Drawn(d, L1((Reduction)d.Rng.Next(3))),
        DrawWeight = 0.25,
    };

    /// <summary>smooth_l1_loss.</summary>
    public static OpDescriptor<RegressionLoss> SmoothL1Descriptor { get; } = new()
    {
        Name = "smooth_l1_loss",
        Inputs = [new("input"), new("target")],
        Attributes = [ReductionAttribute, new("beta", "a non-negative number: below it the loss is quadratic (0: l1)", "1.0")],
        Build = a => SmoothL1(a.Double("beta", 1), a.Enum("reduction", Reduction.Mean)),
        Kinks = [AtZero],
        KnownBugs = Bugs,
        Examples = () =>
        [
            Example(SmoothL1(), Shape.Of(2, 4), 521, "beta-1", "both-regions"),
            Example(SmoothL1(0.5, Reduction.Sum), Shape.Of(2, 3), 522, "beta", "sum"),
            Example(SmoothL1(0, Reduction.None), Shape.Of(4), 523, "beta-0", "equal"),
        ],
        DrawCase = d => Drawn(d, SmoothL1(d.OneIn(4) ? 0 : 0.25 * d.Int(1, 8), (Reduction)d.Rng.Next(3))),
        DrawWeight = 0.25,
    };

    /// <summary>huber_loss.</summary>
    public static OpDescriptor<RegressionLoss> HuberDescriptor { get; } = new()
    {
        Name = "huber_loss",
        Inputs = [new("input"), new("target")],
        Attributes = [ReductionAttribute, new("delta", "a positive number: below it the loss is quadratic", "1.0")],
        Build = a => Huber(a.Double("delta", 1), a.Enum("reduction", Reduction.Mean)),
        KnownBugs = Bugs,
        Examples = () =>
        [
            Example(Huber(), Shape.Of(2, 4), 531, "delta-1", "both-regions"),
            Example(Huber(2, Reduction.Sum), Shape.Of(2, 3), 532, "delta", "sum"),
            Example(Huber(0.5, Reduction.None), Shape.Of(5), 533, "delta", "none"),
        ],
        DrawCase = d => Drawn(d, Huber(0.25 * d.Int(1, 8), (Reduction)d.Rng.Next(3))),
        DrawWeight = 0.25,
    };

    // Inputs and targets of scale 2, so that both regions of a smooth loss are met; "equal" cases set some targets to the input.
    private static NamedTensors Inputs(Shape shape, int seed, bool equal)
    {
        var x = Samples.Scaled(shape, seed, 2);
        var t = Samples.Scaled(shape, seed + 1, 2);
        return new(("input", x), ("target", equal ? Tensor.Create(shape, i => i % 3 == 0 ? x.At(i) : t.At(i)) : t));
    }

    private static CheckCase Example(RegressionLoss op, Shape shape, int seed, params string[] exercises) =>
        new(op, Inputs(shape, seed, exercises.Contains("equal")), exercises);

    private static CheckCase Drawn(CaseDraw d, RegressionLoss op)
    {
        bool equal = op.HasKink && d.OneIn(2);
        if (equal) d.Exercises("kink");
        return d.Case(op, Inputs(d.ChannelsFirst(d.Batch, d.Channels), d.DataSeed, equal), op.reduce.Text);
    }

    private static IEnumerable<BugHypothesis> Bugs(RegressionLoss op, NamedTensors inputs, Tensor dy)
    {
        if (op.HasKink && op.SituationsAt(inputs).Count > 0)
            foreach (var side in new[] { "right", "left" })
                yield return BugHypothesis.InWholeAnswer($"where input = target, dx and dt both take the {side} slope ({Tensor.FormatNumber(Corner.Slope(side))}), the same sign: " +
                    "no gradient of a function of x - t has that (it needs dt = -dx); PyTorch's smooth_l1_loss with beta = 0 answers this", () =>
                {
                    var r = OpResult.Of(op.WithConventions(new Dictionary<string, string> { [AtZero.Key] = side }), inputs, dy);
                    var (x, t) = op.Read(inputs);
                    var dx = r.Grads["input"];
                    return new OpResult(r.Output, r.Grads.With("target", Tensor.Create(dx.Shape, i => x.At(i) == t.At(i) ? dx.At(i) : -dx.At(i))));
                });
        if (op.Reduction == Reduction.Mean && inputs["input"].Count > 1)
            foreach (var grad in new[] { "input", "target" })
                yield return BugHypothesis.InTensor($"grads.{grad}", $"{op.Name} backward misses the mean's division by the {inputs["input"].Count} elements",
                    () => op.With(Reduction.Sum).Backward(inputs, dy)[grad]);
        if (op.Name == "smooth_l1_loss" && op.Parameter is > 0 and not 1)
        {
            yield return BugHypothesis.InWholeAnswer($"output: huber_loss(delta={Tensor.FormatNumber(op.Parameter)}) computed for smooth_l1_loss(beta={Tensor.FormatNumber(op.Parameter)}): beta times too large",
                () => OpResult.Of(Huber(op.Parameter, op.Reduction), inputs, dy));
            yield return BugHypothesis.InWholeAnswer($"output: beta {Tensor.FormatNumber(op.Parameter)} ignored, the default 1 used", () => OpResult.Of(SmoothL1(1, op.Reduction), inputs, dy));
        }
        if (op.Name == "huber_loss" && op.Parameter != 1)
        {
            yield return BugHypothesis.InWholeAnswer($"output: smooth_l1_loss(beta={Tensor.FormatNumber(op.Parameter)}) computed for huber_loss(delta={Tensor.FormatNumber(op.Parameter)}): divided by delta",
                () => OpResult.Of(SmoothL1(op.Parameter, op.Reduction), inputs, dy));
            yield return BugHypothesis.InWholeAnswer($"output: delta {Tensor.FormatNumber(op.Parameter)} ignored, the default 1 used", () => OpResult.Of(Huber(1, op.Reduction), inputs, dy));
        }
    }

    private RegressionLoss With(Reduction reduction) => new(Name, Parameter, reduction, Choice);

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>smooth_l1_loss's beta or huber_loss's delta (0 for l1_loss).</summary>
    public double Parameter { get; }

    /// <summary>The reduction.</summary>
    public Reduction Reduction => reduce.Reduction;

    /// <summary>The slope taken where input = target (l1, and smooth l1 with beta 0): left, right or the mean (PyTorch's 0).</summary>
    public string Choice { get; }

    private bool HasKink => Name == "l1_loss" || Name == "smooth_l1_loss" && Parameter == 0;

    /// <inheritdoc/>
    public OpAttributes Attributes => Name switch
    {
        "smooth_l1_loss" => new(("reduction", reduce.Text), ("beta", Parameter)),
        "huber_loss" => new(("reduction", reduce.Text), ("delta", Parameter)),
        _ => new(("reduction", reduce.Text)),
    };

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input", "target"];

    private (Tensor X, Tensor T) Read(NamedTensors inputs)
    {
        var (x, t) = (inputs["input"], inputs["target"]);
        PointwiseReduction.RequireSameShape("target", t, x);
        return (x, t);
    }

    private double Loss(double d)
    {
        double z = Math.Abs(d), p = Parameter;
        return Name switch
        {
            "huber_loss" => z <= p ? 0.5 * d * d : p * (z - 0.5 * p),
            "smooth_l1_loss" when p > 0 => z < p ? 0.5 * d * d / p : z - 0.5 * p,
            _ => z,
        };
    }

    private double Slope(double d) => Name switch
    {
        "huber_loss" => Math.Clamp(d, -Parameter, Parameter),
        "smooth_l1_loss" when Parameter > 0 => Math.Clamp(d / Parameter, -1, 1),
        _ => d > 0 ? 1 : d < 0 ? -1 : d == 0 ? Corner.Slope(Choice) : d, // NaN stays NaN
    };

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs)
    {
        var (x, t) = Read(inputs);
        return reduce.Reduce(x.Shape, i => Loss(x.At(i) - t.At(i)));
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var (x, t) = Read(inputs);
        Tensor.RequireShape("grad_output", gradOutput, reduce.OutputShape(x.Shape));
        var dx = Tensor.Create(x.Shape, i => Slope(x.At(i) - t.At(i)) * reduce.Upstream(gradOutput, i, x.Shape));
        return new(("input", dx), ("target", dx.Scaled(-1)));
    }

    /// <summary>Per element, with A = |x| + |t| (what the difference rounds relative to): the loss's terms at A, and |slope| or its quadratic region's A/beta (A) times |g|.</summary>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput)
    {
        var (x, t) = Read(inputs);
        double A(int i) => Math.Abs(x.At(i)) + Math.Abs(t.At(i));
        var output = reduce.Reduce(x.Shape, i => Math.Max(Loss(A(i)), A(i) * Math.Abs(Slope(A(i)))) + Parameter);
        var dx = Tensor.Create(x.Shape, i => Math.Abs(reduce.Upstream(gradOutput, i, x.Shape)) *
            (Name == "l1_loss" || Parameter == 0 ? 1 : Math.Max(Math.Abs(Slope(x.At(i) - t.At(i))), Name == "huber_loss" ? A(i) : A(i) / Parameter)));
        return new OpResult(output, new(("input", dx), ("target", dx)));
    }

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) =>
        Reduction == Reduction.None ? JacobianStructure.Diagonal : null;

    /// <inheritdoc/>
    public IReadOnlyList<Situation> Situations => HasKink ? [AtZero] : [];

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, string> Choices => HasKink ? new Dictionary<string, string> { [AtZero.Key] = Choice } : new Dictionary<string, string>();

    /// <inheritdoc/>
    public IReadOnlyList<string> SituationsAt(NamedTensors inputs)
    {
        if (!HasKink) return [];
        var (x, t) = Read(inputs);
        return Enumerable.Range(0, x.Count).Any(i => x.At(i) == t.At(i)) ? [AtZero.Key] : [];
    }

    /// <inheritdoc/>
    public IOp WithConventions(IReadOnlyDictionary<string, string> choices) =>
        !HasKink || !choices.TryGetValue(AtZero.Key, out var c) || c == Choice ? this
            : AtZero.Choices.Contains(c) ? new RegressionLoss(Name, Parameter, Reduction, c)
            : throw new ParameterException(AtZero.Key, $"'{c}'", $"must be one of {string.Join(", ", AtZero.Choices)}");

    /// <inheritdoc/>
    public ConventionJudgement Judge(NamedTensors inputs, Tensor gradOutput, OpResult answer, AnswerComparer compare, IReadOnlyDictionary<string, string> required)
    {
        if (!HasKink) return ConventionJudgement.NotAConventionMatter;
        var (x, t) = Read(inputs);
        return KinkJudge.Judge(this, AtZero, $"{Name} where input = target", i => x.At(i) == t.At(i) ? Corner : null, inputs, gradOutput, answer, compare, required,
            upstream: i => reduce.Upstream(gradOutput, i, x.Shape), mirror: "target");
    }
}
