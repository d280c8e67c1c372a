using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// hardswish (Howard et al. 2019, MobileNetV3), as torch.nn.functional.hardswish: y = x·min(max(x + 3, 0), 6)/6,
/// slope 0 below -3, x/3 + 1/2 inside, 1 above 3. At -3 any slope in [-1/2, 0] is valid, at 3 any in [1, 3/2];
/// libtorch 2.10's backward takes the outside's, 0 and 1 (PyTorch 1.13's took the inside's, -1/2 and 3/2).
/// </summary>
public sealed class Hardswish : KinkedActivation
{
    private static readonly Situation AtEdges = SituationOf("hardswish_at_edges", "hardswish at -3 and 3", "outside", edges: true);

    /// <summary>hardswish taking <paramref name="choice"/> at ±3.</summary>
    public Hardswish(string choice = "outside") : base(Checked(AtEdges, choice)) { }

    /// <summary>hardswish: kinks at ±3.</summary>
    public static OpDescriptor<Hardswish> Descriptor { get; } = new()
    {
        Name = "hardswish",
        Inputs = [new("input")],
        Attributes = [],
        Build = _ => new Hardswish(),
        Kinks = [AtEdges],
        KnownBugs = (_, inputs, dy) =>
        [
            BugHypothesis.InTensor("grads.input", "hardswish backward treats the gate relu6(x + 3)/6 as a constant: dx = dy·relu6(x + 3)/6",
                () => Tensor.Create(dy.Shape, i => dy.At(i) * Math.Min(Math.Max(inputs["input"].At(i) + 3, 0), 6) / 6)),
        ],
        Examples = () =>
        [
            new(new Hardswish(), NamedTensors.Input(Samples.With(Samples.With(Samples.Scaled(Shape.Of(2, 3, 4), 351, 5), -3, 1, 13), 3, 6, 22)), ["edges"]),
            new(new Hardswish(), NamedTensors.Input(Samples.Scaled(Shape.Of(1, 2, 3, 3), 352, 6)), ["basic"]),
            new(new Hardswish(), NamedTensors.Input(Samples.Distinct(Shape.Of(1, 1, 9), 353)), ["inside"]),
        ],
        DrawCase = d => d.Case(new Hardswish(), NamedTensors.Input(d.AtKinks(Samples.Scaled(d.ChannelsFirst(d.Batch, d.Channels), d.DataSeed, 5), -3, 3))),
        DrawWeight = 0.25,
    };

    /// <inheritdoc/>
    public override string Name => "hardswish";

    /// <inheritdoc/>
    public override OpAttributes Attributes => OpAttributes.None;

    /// <inheritdoc/>
    public override Situation Situation => AtEdges;

    /// <inheritdoc/>
    public override IReadOnlyList<Kink> Kinks { get; } = [Kink.LowerEdge(-3, 0, -0.5), Kink.UpperEdge(3, 1.5, 1)];

    /// <inheritdoc/>
    public override double Value(double x) => x * Math.Min(Math.Max(x + 3, 0), 6) / 6;

    /// <inheritdoc/>
    protected override double SlopeAway(double x) => x <= -3 ? 0 : x < 3 ? x / 3 + 0.5 : 1; // NaN: 1, as libtorch's hardswish_backward

    /// <inheritdoc/>
    protected override KinkedActivation With(string choice) => new Hardswish(choice);
}
