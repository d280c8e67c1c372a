using System.Globalization;
using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// hardtanh and relu6 (hardtanh on [0, 6]), as torch.nn.functional defines them: y = clamp(x, min_val, max_val),
/// slope 1 inside and 0 outside. At each edge any slope in [0, 1] is valid; PyTorch's hardtanh_backward takes the
/// outside's 0 (torch.clamp's backward the inside's 1, JAX's clip the mean).
/// </summary>
public sealed class Hardtanh : KinkedActivation
{
    private static readonly Situation AtEdges = SituationOf("hardtanh_at_edges", "hardtanh at min_val and max_val", "outside", edges: true);
    private static readonly Situation Relu6AtEdges = SituationOf("relu6_at_edges", "relu6 at 0 and 6", "outside", edges: true);

    private readonly bool relu6;

    private Hardtanh(double minVal, double maxVal, bool relu6, string choice = "outside") : base(choice)
    {
        MinVal = minVal;
        MaxVal = maxVal;
        this.relu6 = relu6;
        Kinks = minVal < maxVal ? [Kink.LowerEdge(minVal, 0, 1), Kink.UpperEdge(maxVal, 1, 0)] : []; // min = max: constant, slope 0
    }

    /// <summary>hardtanh on [<paramref name="minVal"/>, <paramref name="maxVal"/>].</summary>
    public static Hardtanh Of(double minVal = -1, double maxVal = 1)
    {
        if (!double.IsFinite(minVal)) throw new ParameterException("min_val", Show(minVal), "must be finite");
        if (!double.IsFinite(maxVal)) throw new ParameterException("max_val", Show(maxVal), "must be finite");
        if (minVal > maxVal) throw new ParameterException("min_val", Show(minVal), $"must not exceed max_val = {Show(maxVal)}");
        return new(minVal, maxVal, relu6: false);
    }

    /// <summary>relu6: hardtanh on [0, 6].</summary>
    public static Hardtanh Relu6() => new(0, 6, relu6: true);

    /// <summary>hardtanh: kinks at min_val and max_val.</summary>
    public static OpDescriptor<Hardtanh> Descriptor { get; } = new()
    {
        Name = "hardtanh",
        Inputs = [new("input")],
        Attributes = [new("min_val", "a finite number, at most max_val", "-1.0"), new("max_val", "a finite number", "1.0")],
        Build = a => Of(a.Double("min_val", -1), a.Double("max_val", 1)),
        Exact = _ => true, // clamp, and dy·0, dy·1 or dy·0.5
        Kinks = [AtEdges],
        KnownBugs = (h, inputs, dy) =>
        [
            BugHypothesis.InTensor("grads.input", "hardtanh backward passes the gradient where the output is clamped: dx = dy everywhere", () => dy),
            BugHypothesis.InWholeAnswer($"min_val and max_val ignored: the default [-1, 1] used for [{Show(h.MinVal)}, {Show(h.MaxVal)}]",
                () => h.MinVal == -1 && h.MaxVal == 1 ? null : OpResult.Of(Of(), inputs, dy)),
        ],
        Examples = () =>
        [
            new(Of(), NamedTensors.Input(Samples.With(Samples.With(Samples.Distinct(Shape.Of(2, 3, 4), 321), -1, 2, 9, 17), 1, 5, 14)), ["edges"]),
            new(Of(-0.5, 2), NamedTensors.Input(Samples.Scaled(Shape.Of(1, 2, 7), 322, 3)), ["min_val", "max_val"]),
            new(Of(0.25, 0.25), NamedTensors.Input(Samples.With(Samples.Distinct(Shape.Of(1, 1, 6), 323), 0.25, 3)), ["min-equals-max"]),
        ],
        DrawCase = d => d.Case(d.OneIn(2) ? Of() : Of(-d.Int(1, 3) * 0.5, d.Int(1, 3) * 0.5), NamedTensors.Input(d.AtKinks(Samples.Scaled(d.ChannelsFirst(d.Batch, d.Channels), d.DataSeed, 2), -1, 1))),
        DrawWeight = 0.25,
    };

    /// <summary>relu6: kinks at 0 and 6.</summary>
    public static OpDescriptor<Hardtanh> Relu6Descriptor { get; } = new()
    {
        Name = "relu6",
        Inputs = [new("input")],
        Attributes = [],
        Build = _ => Relu6(),
        Exact = _ => true,
        Kinks = [Relu6AtEdges],
        KnownBugs = (_, inputs, dy) =>
        [
            BugHypothesis.InTensor("grads.input", "relu6 backward forgets the upper clamp: dx = dy·[x > 0], relu's gradient",
                () => Tensor.Create(dy.Shape, i => inputs["input"].At(i) > 0 ? dy.At(i) : 0)),
        ],
        Examples = () =>
        [
            new(Relu6(), NamedTensors.Input(Samples.With(Samples.With(Samples.Scaled(Shape.Of(2, 2, 5), 331, 8), 0, 1, 12), 6, 4, 15)), ["edges"]),
            new(Relu6(), NamedTensors.Input(Samples.Scaled(Shape.Of(1, 3, 2, 3), 332, 9)), ["basic"]),
            new(Relu6(), NamedTensors.Input(Samples.Scaled(Shape.Of(1, 1, 8), 333, 0.5)), ["small"]),
        ],
        DrawCase = d => d.Case(Relu6(), NamedTensors.Input(d.AtKinks(Samples.Scaled(d.ChannelsFirst(d.Batch, d.Channels), d.DataSeed, 8), 0, 6))),
        DrawWeight = 0.25,
    };

    /// <summary>The lower edge.</summary>
    public double MinVal { get; }

    /// <summary>The upper edge.</summary>
    public double MaxVal { get; }

    /// <inheritdoc/>
    public override string Name => relu6 ? "relu6" : "hardtanh";

    /// <inheritdoc/>
    public override OpAttributes Attributes => relu6 ? OpAttributes.None : new(("min_val", MinVal), ("max_val", MaxVal));

    /// <inheritdoc/>
    public override Situation Situation => relu6 ? Relu6AtEdges : AtEdges;

    /// <inheritdoc/>
    public override IReadOnlyList<Kink> Kinks { get; }

    /// <inheritdoc/>
    public override double Value(double x) => x < MinVal ? MinVal : x > MaxVal ? MaxVal : x; // NaN passes through

    /// <inheritdoc/>
    protected override double SlopeAway(double x) => x <= MinVal || x >= MaxVal ? 0 : 1; // NaN: 1, as PyTorch's hardtanh_backward

    /// <inheritdoc/>
    protected override KinkedActivation With(string choice) => new Hardtanh(MinVal, MaxVal, relu6, Checked(Situation, choice));

    private static string Show(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
