using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// binary_cross_entropy(input, target, weight, reduction), as torch.nn.functional defines it on probabilities p in [0, 1]:
/// l = -w·(t·log p + (1 - t)·log(1 - p)), each log clamped at -100 as PyTorch does. dp = w·(p - t)/max(p·(1 - p), 1e-12)·g,
/// dt = w·(log(1 - p) - log p)·g; the weight (broadcast from the right) is a constant. Smooth inside (0, 1). Input and
/// target outside [0, 1] are refused, as PyTorch refuses them; cases keep both inside, so that finite differences stay in the domain.
/// </summary>
public sealed class BinaryCrossEntropy : IOp, IHasMagnitudes, IHasJacobianStructure
{
    private readonly PointwiseReduction reduce;

    /// <summary>binary_cross_entropy with <paramref name="reduction"/>; whether a weight is given is read from the inputs.</summary>
    public BinaryCrossEntropy(Reduction reduction = Reduction.Mean) => reduce = new(reduction);

    /// <summary>binary_cross_entropy.</summary>
    public static OpDescriptor<BinaryCrossEntropy> Descriptor { get; } = new()
    {
        Name = "binary_cross_entropy",
        Inputs = [new("input"), new("target"), new("weight", Optional: true, Differentiable: false)],
        Attributes = [new("reduction", "one of mean, sum, none", "'mean'")],
        Build = a => new BinaryCrossEntropy(a.Enum("reduction", Reduction.Mean)),
        KnownBugs = (b, inputs, dy) =>
        [
            BugHypothesis.InTensor("grads.input", "binary_cross_entropy backward returns w·(p - t)·g, the gradient with respect to the logits (as if a sigmoid were fused in), not the probabilities",
                () => { var (p, t, w) = b.Read(inputs); return b.InputGradient(p, t, w, dy, (pi, ti) => pi - ti); }),
            BugHypothesis.InTensor("grads.input", "binary_cross_entropy backward leaves out the weight",
                () => inputs.Contains("weight") ? b.Backward(inputs.Without("weight"), dy)["input"] : null),
        ],
        Examples = () =>
        [
            new(new BinaryCrossEntropy(), Inputs(Probabilities(Shape.Of(2, 3), 471), Probabilities(Shape.Of(2, 3), 472)), ["mean", "soft-targets"]),
            new(new BinaryCrossEntropy(Reduction.Sum), Inputs(Probabilities(Shape.Of(2, 2, 3), 473), Labels(Shape.Of(2, 2, 3), i => i % 2),
                Samples.Positive(Shape.Of(3), 474)), ["sum", "weight", "near-hard-targets"]),
            new(new BinaryCrossEntropy(Reduction.None), Inputs(Probabilities(Shape.Of(4), 475), Labels(Shape.Of(4), i => i is 1 or 2 ? 1 : 0)), ["none", "near-hard-targets"]),
        ],
        DrawCase = d =>
        {
            var shape = d.ChannelsFirst(d.Batch, d.Channels);
            var p = Probabilities(shape, d.DataSeed);
            var t = d.OneIn(2) ? Labels(shape, _ => d.Rng.Next(2)) : Probabilities(shape, d.DataSeed + 1);
            var reduction = (Reduction)d.Rng.Next(3);
            return d.Case(new BinaryCrossEntropy(reduction), d.OneIn(2) ? Inputs(p, t) : Inputs(p, t, Samples.Positive(Shape.Of(shape[shape.Rank - 1]), d.DataSeed + 2)),
                reduction.ToString().ToLowerInvariant());
        },
        DrawWeight = 0.25,
    };

    /// <summary>Probabilities in (0.05, 0.95]: away from 0 and 1, where the logs clamp.</summary>
    private static Tensor Probabilities(Shape shape, int seed)
    {
        var u = Samples.Uniforms(shape, seed);
        return Tensor.Create(shape, i => 0.05 + 0.9 * u.At(i));
    }

    /// <summary>Labels 0 and 1 moved in by 0.02: hard labels a finite difference can step around.</summary>
    private static Tensor Labels(Shape shape, Func<int, int> label) => Tensor.Create(shape, i => label(i) == 1 ? 0.98 : 0.02);

    private static NamedTensors Inputs(Tensor p, Tensor t, Tensor? w = null) =>
        w is null ? new(("input", p), ("target", t)) : new(("input", p), ("target", t), ("weight", w));

    /// <summary>The reduction.</summary>
    public Reduction Reduction => reduce.Reduction;

    /// <inheritdoc/>
    public string Name => "binary_cross_entropy";

    /// <inheritdoc/>
    public OpAttributes Attributes => new(("reduction", reduce.Text));

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input", "target"];

    private (Tensor P, Tensor T, Func<int, double> W) Read(NamedTensors inputs)
    {
        var (p, t) = (inputs["input"], inputs["target"]);
        PointwiseReduction.RequireSameShape("target", t, p);
        foreach (var (name, v) in new[] { ("input", p), ("target", t) })
            for (int i = 0; i < v.Count; i++)
                if (!(v.At(i) >= 0 && v.At(i) <= 1))
                    throw new ParameterException($"{name}[{string.Join(", ", v.Shape.Coordinates(i))}]", Tensor.FormatNumber(v.At(i)), "must be a probability, between 0 and 1 (PyTorch's rule)");
        return (p, t, PointwiseReduction.Weight(inputs, "weight", p.Shape));
    }

    private static double Log(double v) => Math.Max(Math.Log(v), -100); // PyTorch's clamp
    private static double Log1m(double p) => Math.Max(Math.Log(1 - p), -100);

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs)
    {
        var (p, t, w) = Read(inputs);
        return reduce.Reduce(p.Shape, i => -w(i) * (t.At(i) * Log(p.At(i)) + (1 - t.At(i)) * Log1m(p.At(i))));
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var (p, t, w) = Read(inputs);
        Tensor.RequireShape("grad_output", gradOutput, reduce.OutputShape(p.Shape));
        var dp = InputGradient(p, t, w, gradOutput, (pi, ti) => (pi - ti) / Math.Max(pi * (1 - pi), 1e-12));
        var dt = Tensor.Create(p.Shape, i => w(i) * (Log1m(p.At(i)) - Log(p.At(i))) * reduce.Upstream(gradOutput, i, p.Shape));
        return new(("input", dp), ("target", dt));
    }

    private Tensor InputGradient(Tensor p, Tensor t, Func<int, double> w, Tensor gradOutput, Func<double, double, double> slope) =>
        Tensor.Create(p.Shape, i => w(i) * slope(p.At(i), t.At(i)) * reduce.Upstream(gradOutput, i, p.Shape));

    /// <summary>Per element: |w|·(|t|·(|log p| + 1) + |1 - t|·(|log(1 - p)| + 1)) for the loss (a log rounds relative to 1), and each gradient's terms in |·|.</summary>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput)
    {
        var (p, t, w) = Read(inputs);
        double G(int i) => Math.Abs(w(i) * reduce.Upstream(gradOutput, i, p.Shape));
        var output = reduce.Reduce(p.Shape, i => Math.Abs(w(i)) * (Math.Abs(t.At(i)) * (Math.Abs(Log(p.At(i))) + 1) + Math.Abs(1 - t.At(i)) * (Math.Abs(Log1m(p.At(i))) + 1)));
        var dp = Tensor.Create(p.Shape, i => G(i) * (p.At(i) + Math.Abs(t.At(i)) + 1) / Math.Max(p.At(i) * (1 - p.At(i)), 1e-12));
        var dt = Tensor.Create(p.Shape, i => G(i) * (Math.Abs(Log1m(p.At(i))) + Math.Abs(Log(p.At(i))) + 2));
        return new OpResult(output, new(("input", dp), ("target", dt)));
    }

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) =>
        Reduction == Reduction.None ? JacobianStructure.Diagonal : null;
}
