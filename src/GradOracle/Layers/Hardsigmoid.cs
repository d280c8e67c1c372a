using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// hardsigmoid, as torch.nn.functional.hardsigmoid: y = min(max(x + 3, 0), 6)/6, slope 1/6 inside (-3, 3) and 0
/// outside. At ±3 any slope in [0, 1/6] is valid; PyTorch's backward takes the outside's 0.
/// </summary>
public sealed class Hardsigmoid : KinkedActivation
{
    private static readonly Situation AtEdges = SituationOf("hardsigmoid_at_edges", "hardsigmoid at -3 and 3", "outside", edges: true);

    /// <summary>hardsigmoid taking <paramref name="choice"/> at ±3.</summary>
    public Hardsigmoid(string choice = "outside") : base(Checked(AtEdges, choice)) { }

    /// <summary>hardsigmoid: kinks at ±3.</summary>
    public static OpDescriptor<Hardsigmoid> Descriptor { get; } = new()
    {
        Name = "hardsigmoid",
        Inputs = [new("input")],
        Attributes = [],
        Build = _ => new Hardsigmoid(),
        Kinks = [AtEdges],
        // hardsigmoid_backward's one_sixth is scalar_t(1.0f / 6.0f): |fl32(1/6)·6 - 1| = 2.98e-8.
        TorchError = new(3e-8, "its float64 backward multiplies by 1/6 rounded to float32 (relative error 2.98e-8)"),
        KnownBugs = (_, inputs, dy) =>
        [
            BugHypothesis.InTensor("grads.input", "hardsigmoid backward misses the 1/6: dx = dy inside (-3, 3)",
                () => Tensor.Create(dy.Shape, i => Math.Abs(inputs["input"].At(i)) < 3 ? dy.At(i) : 0)),
            BugHypothesis.InTensor("grads.input", "hardsigmoid backward multiplies by 1/6 rounded to float32 (as libtorch's float64 kernel does)",
                () => Tensor.Create(dy.Shape, i => Math.Abs(inputs["input"].At(i)) < 3 ? dy.At(i) * (double)(1f / 6f) : 0)),
            BugHypothesis.InTensor("grads.input", "hardsigmoid backward passes dy/6 where the output is clamped",
                () => Tensor.Create(dy.Shape, i => dy.At(i) / 6)),
        ],
        Examples = () =>
        [
            new(new Hardsigmoid(), NamedTensors.Input(Samples.With(Samples.With(Samples.Scaled(Shape.Of(2, 3, 4), 341, 5), -3, 3, 10), 3, 7, 20)), ["edges"]),
            new(new Hardsigmoid(), NamedTensors.Input(Samples.Scaled(Shape.Of(1, 2, 3, 3), 342, 6)), ["basic"]),
            new(new Hardsigmoid(), NamedTensors.Input(Samples.Distinct(Shape.Of(1, 1, 9), 343)), ["inside"]),
        ],
        DrawCase = d => d.Case(new Hardsigmoid(), NamedTensors.Input(d.AtKinks(Samples.Scaled(d.ChannelsFirst(d.Batch, d.Channels), d.DataSeed, 5), -3, 3))),
        DrawWeight = 0.25,
    };

    /// <inheritdoc/>
    public override string Name => "hardsigmoid";

    /// <inheritdoc/>
    public override OpAttributes Attributes => OpAttributes.None;

    /// <inheritdoc/>
    public override Situation Situation => AtEdges;

    /// <inheritdoc/>
    public override IReadOnlyList<Kink> Kinks { get; } = [Kink.LowerEdge(-3, 0, 1.0 / 6), Kink.UpperEdge(3, 1.0 / 6, 0)];

    /// <inheritdoc/>
    public override double Value(double x) => Math.Min(Math.Max(x + 3, 0), 6) / 6; // NaN passes through

    /// <inheritdoc/>
    protected override double SlopeAway(double x) => x > -3 && x < 3 ? 1.0 / 6 : 0; // NaN: 0, as PyTorch's hardsigmoid_backward

    /// <inheritdoc/>
    protected override KinkedActivation With(string choice) => new Hardsigmoid(choice);
}
