using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// mse_loss(input, target, reduction), as torch.nn.functional defines it: l = (x - t)² per element, then the mean
/// over every element (the default), the sum, or none. Both inputs are differentiable: dx = 2·(x - t)·g and
/// dt = -dx, g the upstream gradient per element (divided by the element count for mean). Smooth everywhere.
/// Shapes must match: PyTorch broadcasts unequal ones with a warning, which is almost always a bug.
/// </summary>
public sealed class MseLoss(Reduction reduction = Reduction.Mean) : IOp, IHasMagnitudes, IHasJacobianStructure
{
    private readonly PointwiseReduction reduce = new(reduction);

    /// <summary>mse_loss.</summary>
    public static OpDescriptor<MseLoss> Descriptor { get; } = new()
    {
        Name = "mse_loss",
        Inputs = [new("input"), new("target")],
        Attributes = [new("reduction", "one of mean, sum, none", "'mean'")],
        Build = a => new MseLoss(a.Enum("reduction", Reduction.Mean)),
        KnownBugs = (m, inputs, dy) =>
        [
            BugHypothesis.InTensor("grads.input", "mse_loss backward misses the factor 2: dx = (x - t)·g",
                () => m.Backward(inputs, dy)["input"].Scaled(0.5)),
            BugHypothesis.InTensor("grads.input", "mse_loss with reduction mean divides by the batch size, not by the number of elements",
                () => m.Reduction != Reduction.Mean || inputs["input"].Shape.Rank < 2 || inputs["input"].Count == inputs["input"].Shape[0] ? null
                    : m.Backward(inputs, dy)["input"].Scaled((double)inputs["input"].Count / inputs["input"].Shape[0])),
            BugHypothesis.InTensor("grads.target", "mse_loss's target gradient has the input's sign: dt = +2·(x - t)·g",
                () => m.Backward(inputs, dy)["input"]),
        ],
        Examples = () =>
        [
            new(new MseLoss(), Inputs(Samples.Distinct(Shape.Of(2, 3, 4), 421), Samples.Distinct(Shape.Of(2, 3, 4), 422)), ["mean"]),
            new(new MseLoss(Reduction.Sum), Inputs(Samples.Scaled(Shape.Of(3, 5), 423, 4), Samples.Scaled(Shape.Of(3, 5), 424, 4)), ["sum"]),
            new(new MseLoss(Reduction.None), Inputs(Samples.Distinct(Shape.Of(1, 2, 3, 3), 425), Samples.Distinct(Shape.Of(1, 2, 3, 3), 426)), ["none"]),
        ],
        DrawCase = d =>
        {
            var shape = d.ChannelsFirst(d.Batch, d.Channels);
            var reduction = (Reduction)d.Rng.Next(3);
            return d.Case(new MseLoss(reduction), Inputs(Samples.Distinct(shape, d.DataSeed), Samples.Distinct(shape, d.DataSeed + 1)),
                reduction.ToString().ToLowerInvariant());
        },
        DrawWeight = 0.25,
    };

    /// <summary>The reduction.</summary>
    public Reduction Reduction { get; } = reduction;

    /// <inheritdoc/>
    public string Name => "mse_loss";

    /// <inheritdoc/>
    public OpAttributes Attributes => new(("reduction", Reduction.ToString().ToLowerInvariant()));

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input", "target"];

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs)
    {
        var (x, t) = Checked(inputs);
        return reduce.Reduce(x.Shape, i => (x.At(i) - t.At(i)) * (x.At(i) - t.At(i)));
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var (x, t) = Checked(inputs);
        Tensor.RequireShape("grad_output", gradOutput, reduce.OutputShape(x.Shape));
        var dx = Tensor.Create(x.Shape, i => 2 * (x.At(i) - t.At(i)) * reduce.Upstream(gradOutput, i, x.Shape));
        return new(("input", dx), ("target", dx.Scaled(-1)));
    }

    /// <summary>Per element, the magnitude summed: (|x| + |t|)² for the loss (the difference rounds relative to both), 2·(|x| + |t|)·|g| for the gradients.</summary>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput)
    {
        var (x, t) = Checked(inputs);
        double Span(int i) => Math.Abs(x.At(i)) + Math.Abs(t.At(i));
        var output = reduce.Reduce(x.Shape, i => Span(i) * Span(i));
        var dx = Tensor.Create(x.Shape, i => 2 * Span(i) * Math.Abs(reduce.Upstream(gradOutput, i, x.Shape)));
        return new OpResult(output, new(("input", dx), ("target", dx)));
    }

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) =>
        Reduction == Reduction.None ? JacobianStructure.Diagonal : null; // reduced: one output sees every element

    private static (Tensor X, Tensor T) Checked(NamedTensors inputs)
    {
        var (x, t) = (inputs["input"], inputs["target"]);
        PointwiseReduction.RequireSameShape("target", t, x);
        return (x, t);
    }

    private static NamedTensors Inputs(Tensor x, Tensor t) => new(("input", x), ("target", t));
}
