using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// kl_div(input, target, reduction, log_target), as torch.nn.functional defines it, the input being log-probabilities:
/// l = t·(log t - x) (0 where t = 0, PyTorch's xlogy), or with log_target exp(t)·(t - x). Reductions mean (over every
/// element, which PyTorch warns is not the KL divergence), sum, none and batchmean (the sum over the batch size, the true
/// KL divergence per sample). dx = -t·g (-exp(t)·g); dt = (log t + 1 - x)·g ((t - x + 1)·exp(t)·g). Smooth where t &gt; 0.
/// </summary>
public sealed class KlDiv : IOp, IHasMagnitudes, IHasJacobianStructure
{
    private readonly PointwiseReduction reduce;

    /// <summary>kl_div with <paramref name="reduction"/> (batchmean when <paramref name="batchMean"/>) and <paramref name="logTarget"/>.</summary>
    public KlDiv(Reduction reduction = Reduction.Mean, bool logTarget = false, bool batchMean = false)
    {
        if (batchMean && reduction != Reduction.Mean) throw new ParameterException("reduction", "batchmean", "is a mean: it cannot also be a sum or none");
        reduce = new(reduction, batchMean);
        LogTarget = logTarget;
    }

    private static readonly string[] Reductions = ["mean", "sum", "none", "batchmean"];

    /// <summary>kl_div.</summary>
    public static OpDescriptor<KlDiv> Descriptor { get; } = new()
    {
        Name = "kl_div",
        Inputs = [new("input"), new("target")],
        Attributes = [new("reduction", "one of mean, sum, none, batchmean", "'mean'"), new("log_target", "true when the target is given as log-probabilities", "False")],
        Build = a =>
        {
            var (reduction, batch) = a.Choice("reduction", (Reduction.Mean, false), Reductions, s => s == "batchmean" ? (Reduction.Mean, true) : (Enum.Parse<Reduction>(s, ignoreCase: true), false));
            return new KlDiv(reduction, a.Bool("log_target", false), batch);
        },
        KnownBugs = (k, inputs, dy) =>
        [
            BugHypothesis.InWholeAnswer($"output: reduction 'mean' (divided by the {inputs["input"].Count} elements) computed where 'batchmean' (divided by the batch size) was asked",
                () => k.reduce.PerBatch && inputs["input"].Shape.Rank > 1 && inputs["input"].Count != inputs["input"].Shape[0] ? OpResult.Of(new KlDiv(Reduction.Mean, k.LogTarget), inputs, dy) : null),
            BugHypothesis.InWholeAnswer($"output: log_target={(k.LogTarget ? "False" : "True")} semantics where {(k.LogTarget ? "True" : "False")} was asked",
                () => OpResult.Of(k.With(!k.LogTarget), inputs, dy)),
            BugHypothesis.InTensor("grads.target", "kl_div's target gradient misses the + 1 of d(t·log t)/dt: log t - x",
                () => k.LogTarget ? null : k.TargetGradientWithoutOne(inputs, dy)),
        ],
        Examples = () =>
        [
            new(new KlDiv(batchMean: true), Inputs(LogProbabilities(Shape.Of(2, 4), 491), Probabilities(Shape.Of(2, 4), 492)), ["batchmean"]),
            new(new KlDiv(Reduction.Sum, logTarget: true), Inputs(LogProbabilities(Shape.Of(3, 3), 493), LogProbabilities(Shape.Of(3, 3), 494)), ["sum", "log-target"]),
            new(new KlDiv(Reduction.None), Inputs(LogProbabilities(Shape.Of(2, 2, 3), 495), Probabilities(Shape.Of(2, 2, 3), 496)), ["none"]),
            new(new KlDiv(), Inputs(LogProbabilities(Shape.Of(2, 3), 497), Probabilities(Shape.Of(2, 3), 498)), ["mean"]),
        ],
        DrawCase = d =>
        {
            var shape = d.ChannelsFirst(d.Batch, d.Channels);
            bool logTarget = d.OneIn(3);
            int reduction = d.Rng.Next(4);
            var op = new KlDiv(reduction == 3 ? Reduction.Mean : (Reduction)reduction, logTarget, batchMean: reduction == 3);
            return d.Case(op, Inputs(LogProbabilities(shape, d.DataSeed), logTarget ? LogProbabilities(shape, d.DataSeed + 1) : Probabilities(shape, d.DataSeed + 1)),
                op.reduce.Text, logTarget ? "log-target" : "probability-target");
        },
        DrawWeight = 0.25,
    };

    // Targets away from 0, where d(t·log t)/dt is unbounded; log-probabilities of such values.
    private static Tensor Probabilities(Shape shape, int seed)
    {
        var u = Samples.Uniforms(shape, seed);
        return Tensor.Create(shape, i => 0.02 + 0.96 * u.At(i));
    }

    private static Tensor LogProbabilities(Shape shape, int seed)
    {
        var p = Probabilities(shape, seed);
        return Tensor.Create(shape, i => Math.Log(p.At(i)));
    }

    private static NamedTensors Inputs(Tensor x, Tensor t) => new(("input", x), ("target", t));

    private KlDiv With(bool logTarget) => new(reduce.Reduction, logTarget, reduce.PerBatch);

    /// <summary>Whether the target is given as log-probabilities.</summary>
    public bool LogTarget { get; }

    /// <inheritdoc/>
    public string Name => "kl_div";

    /// <inheritdoc/>
    public OpAttributes Attributes => new(("reduction", reduce.Text), ("log_target", LogTarget));

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input", "target"];

    private (Tensor X, Tensor T) Read(NamedTensors inputs)
    {
        var (x, t) = (inputs["input"], inputs["target"]);
        PointwiseReduction.RequireSameShape("target", t, x);
        return (x, t);
    }

    private static double XLogX(double t) => t == 0 ? 0 : t * Math.Log(t);

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs)
    {
        var (x, t) = Read(inputs);
        return reduce.Reduce(x.Shape, i => LogTarget ? Math.Exp(t.At(i)) * (t.At(i) - x.At(i)) : XLogX(t.At(i)) - t.At(i) * x.At(i));
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var (x, t) = Read(inputs);
        Tensor.RequireShape("grad_output", gradOutput, reduce.OutputShape(x.Shape));
        double G(int i) => reduce.Upstream(gradOutput, i, x.Shape);
        var dx = Tensor.Create(x.Shape, i => -(LogTarget ? Math.Exp(t.At(i)) : t.At(i)) * G(i));
        var dt = Tensor.Create(x.Shape, i => (LogTarget ? Math.Exp(t.At(i)) * (t.At(i) - x.At(i) + 1) : Math.Log(t.At(i)) + 1 - x.At(i)) * G(i));
        return new(("input", dx), ("target", dt));
    }

    private Tensor TargetGradientWithoutOne(NamedTensors inputs, Tensor dy)
    {
        var (x, t) = Read(inputs);
        return Tensor.Create(x.Shape, i => (Math.Log(t.At(i)) - x.At(i)) * reduce.Upstream(dy, i, x.Shape));
    }

    /// <summary>Per element, each formula's terms in |·| (a log or exp rounds relative to its result, and log t's to 1 beside it).</summary>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput)
    {
        var (x, t) = Read(inputs);
        double G(int i) => Math.Abs(reduce.Upstream(gradOutput, i, x.Shape));
        double E(int i) => LogTarget ? Math.Exp(t.At(i)) : Math.Abs(t.At(i));
        var output = reduce.Reduce(x.Shape, i => LogTarget ? E(i) * (Math.Abs(t.At(i)) + Math.Abs(x.At(i)) + 1) : Math.Abs(XLogX(t.At(i))) + E(i) * (Math.Abs(x.At(i)) + 1));
        var dx = Tensor.Create(x.Shape, i => E(i) * G(i));
        var dt = Tensor.Create(x.Shape, i => G(i) * (LogTarget ? E(i) * (Math.Abs(t.At(i)) + Math.Abs(x.At(i)) + 2) : Math.Abs(Math.Log(t.At(i))) + 1 + Math.Abs(x.At(i))));
        return new OpResult(output, new(("input", dx), ("target", dt)));
    }

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) =>
        reduce.Reduction == Reduction.None ? JacobianStructure.Diagonal : null;
}
