using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// binary_cross_entropy_with_logits(input, target, weight, pos_weight, reduction), as torch.nn.functional defines it on
/// logits x: l = -w·(pw·t·log σ(x) + (1 - t)·log(1 - σ(x))), computed as PyTorch does without overflow,
/// (1 - t)·x + (1 + (pw - 1)·t)·softplus(-x). dx = w·((1 - t) - (1 + (pw - 1)·t)·σ(-x))·g, which is w·(σ(x) - t)·g for pw = 1;
/// dt = w·((pw - 1)·softplus(-x) - x)·g. weight and pos_weight broadcast from the right (pos_weight per class, the last
/// dimension) and are constants. Smooth everywhere.
/// </summary>
public sealed class BinaryCrossEntropyWithLogits : IOp, IHasMagnitudes, IHasJacobianStructure
{
    private readonly PointwiseReduction reduce;
    // Bug hypotheses only: pos_weight on the negative term instead of the positive one.
    private readonly bool posOnNegative;

    private BinaryCrossEntropyWithLogits(Reduction reduction, bool posOnNegative)
    {
        reduce = new(reduction);
        this.posOnNegative = posOnNegative;
    }

    /// <summary>binary_cross_entropy_with_logits with <paramref name="reduction"/>; weight and pos_weight are read from the inputs.</summary>
    public BinaryCrossEntropyWithLogits(Reduction reduction = Reduction.Mean) : this(reduction, false) { }

    /// <summary>binary_cross_entropy_with_logits.</summary>
    public static OpDescriptor<BinaryCrossEntropyWithLogits> Descriptor { get; } = new()
    {
        Name = "binary_cross_entropy_with_logits",
        Inputs = [new("input"), new("target"), new("weight", Optional: true, Differentiable: false), new("pos_weight", Optional: true, Differentiable: false)],
        Attributes = [new("reduction", "one of mean, sum, none", "'mean'")],
        Build = a => new BinaryCrossEntropyWithLogits(a.Enum("reduction", Reduction.Mean)),
        KnownBugs = (b, inputs, dy) =>
        [
            BugHypothesis.InWholeAnswer("output: pos_weight ignored", () => inputs.Contains("pos_weight") ? OpResult.Of(b, inputs.Without("pos_weight"), dy) : null),
            BugHypothesis.InWholeAnswer("output: pos_weight applied to the negative term (1 - t)·log(1 - σ(x)) instead of the positive t·log σ(x)",
                () => inputs.Contains("pos_weight") ? OpResult.Of(new BinaryCrossEntropyWithLogits(b.Reduction, posOnNegative: true), inputs, dy) : null),
            BugHypothesis.InTensor("grads.input", "backward returns w·(σ(x) - t)·g whatever pos_weight: the positive weight left out of the gradient",
                () => inputs.Contains("pos_weight") ? b.Backward(inputs.Without("pos_weight"), dy)["input"] : null),
        ],
        Examples = () =>
        [
            new(new BinaryCrossEntropyWithLogits(), Inputs(Samples.Scaled(Shape.Of(2, 3), 481, 3), Tensor.Create(Shape.Of(2, 3), i => i % 2)), ["mean"]),
            new(new BinaryCrossEntropyWithLogits(Reduction.Sum), Inputs(Samples.Scaled(Shape.Of(2, 4), 482, 3), Samples.Uniforms(Shape.Of(2, 4), 483),
                pw: Tensor.Wrap(Shape.Of(4), [0.5, 1, 2, 3])), ["sum", "pos-weight", "soft-targets"]),
            new(new BinaryCrossEntropyWithLogits(Reduction.None), Inputs(Samples.Scaled(Shape.Of(2, 2, 3), 484, 3), Tensor.Create(Shape.Of(2, 2, 3), i => i / 3 % 2),
                w: Samples.Positive(Shape.Of(2, 1, 3), 485), pw: Tensor.Wrap(Shape.Of(3), [2, 0.5, 4])), ["none", "weight", "pos-weight"]),
            new(new BinaryCrossEntropyWithLogits(), Inputs(Tensor.Wrap(Shape.Of(4), [-40, -3, 5, 40]), Tensor.Wrap(Shape.Of(4), [1, 0, 1, 0])), ["large-logits"]),
        ],
        DrawCase = d =>
        {
            var shape = d.ChannelsFirst(d.Batch, d.Channels);
            var x = Samples.Scaled(shape, d.DataSeed, 3);
            var t = d.OneIn(2) ? Tensor.Create(shape, _ => d.Rng.Next(2)) : Samples.Uniforms(shape, d.DataSeed + 1);
            var w = d.OneIn(3) ? Samples.Positive(Shape.Of(shape[shape.Rank - 1]), d.DataSeed + 2) : null;
            var pw = d.OneIn(2) ? Samples.Positive(Shape.Of(shape[shape.Rank - 1]), d.DataSeed + 3) : null;
            if (pw is not null) d.Exercises("pos-weight");
            var reduction = (Reduction)d.Rng.Next(3);
            return d.Case(new BinaryCrossEntropyWithLogits(reduction), Inputs(x, t, w, pw), reduction.ToString().ToLowerInvariant());
        },
        DrawWeight = 0.25,
    };

    private static NamedTensors Inputs(Tensor x, Tensor t, Tensor? w = null, Tensor? pw = null)
    {
        var list = new List<(string, Tensor)> { ("input", x), ("target", t) };
        if (w is not null) list.Add(("weight", w));
        if (pw is not null) list.Add(("pos_weight", pw));
        return new NamedTensors([.. list]);
    }

    /// <summary>The reduction.</summary>
    public Reduction Reduction => reduce.Reduction;

    /// <inheritdoc/>
    public string Name => "binary_cross_entropy_with_logits";

    /// <inheritdoc/>
    public OpAttributes Attributes => new(("reduction", reduce.Text));

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input", "target"];

    private (Tensor X, Tensor T, Func<int, double> W, Func<int, double> Pw) Read(NamedTensors inputs)
    {
        var (x, t) = (inputs["input"], inputs["target"]);
        PointwiseReduction.RequireSameShape("target", t, x);
        return (x, t, PointwiseReduction.Weight(inputs, "weight", x.Shape), PointwiseReduction.Weight(inputs, "pos_weight", x.Shape));
    }

    private static double Softplus(double v) => Math.Log(1 + Math.Exp(-Math.Abs(v))) + Math.Max(v, 0);
    private static double Sigmoid(double v) => v >= 0 ? 1 / (1 + Math.Exp(-v)) : Math.Exp(v) / (1 + Math.Exp(v));

    /// <summary>The weights of the positive and the negative term at element i: (pw, 1), or (1, pw) for the bug.</summary>
    private (double Pos, double Neg) Terms(double pw) => posOnNegative ? (1, pw) : (pw, 1);

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs)
    {
        var (x, t, w, pw) = Read(inputs);
        return reduce.Reduce(x.Shape, i =>
        {
            var (pos, neg) = Terms(pw(i));
            double xi = x.At(i), ti = t.At(i);
            // -log σ(x) = softplus(-x), -log(1 - σ(x)) = x + softplus(-x)
            return w(i) * (neg * (1 - ti) * xi + (pos * ti + neg * (1 - ti)) * Softplus(-xi));
        });
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var (x, t, w, pw) = Read(inputs);
        Tensor.RequireShape("grad_output", gradOutput, reduce.OutputShape(x.Shape));
        double G(int i) => w(i) * reduce.Upstream(gradOutput, i, x.Shape);
        var dx = Tensor.Create(x.Shape, i =>
        {
            var (pos, neg) = Terms(pw(i));
            return G(i) * (neg * (1 - t.At(i)) - (pos * t.At(i) + neg * (1 - t.At(i))) * Sigmoid(-x.At(i)));
        });
        var dt = Tensor.Create(x.Shape, i =>
        {
            var (pos, neg) = Terms(pw(i));
            return G(i) * ((pos - neg) * Softplus(-x.At(i)) - neg * x.At(i));
        });
        return new(("input", dx), ("target", dt));
    }

    /// <summary>Per element, each formula's terms in |·|, plus 1 for softplus's own rounding relative to its size.</summary>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput)
    {
        var (x, t, w, pw) = Read(inputs);
        double G(int i) => Math.Abs(w(i) * reduce.Upstream(gradOutput, i, x.Shape));
        double Weight(int i) => Math.Abs(pw(i)) * Math.Abs(t.At(i)) + Math.Abs(1 - t.At(i));
        var output = reduce.Reduce(x.Shape, i => Math.Abs(w(i)) * (Math.Abs(1 - t.At(i)) * Math.Abs(x.At(i)) + Weight(i) * (Softplus(-x.At(i)) + 1)));
        var dx = Tensor.Create(x.Shape, i => G(i) * (Math.Abs(1 - t.At(i)) + Weight(i) * Sigmoid(-x.At(i))));
        var dt = Tensor.Create(x.Shape, i => G(i) * (Math.Abs(pw(i) - 1) * (Softplus(-x.At(i)) + 1) + Math.Abs(x.At(i))));
        return new OpResult(output, new(("input", dx), ("target", dt)));
    }

    /// <inheritdoc/>
    public bool IsSmooth => true; // softplus and the sigmoid are smooth everywhere

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) =>
        Reduction == Reduction.None ? JacobianStructure.Diagonal : null;
}
