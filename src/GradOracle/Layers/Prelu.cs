using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// prelu (He et al. 2015), as torch.nn.functional.prelu(input, weight): y = x for x &gt; 0, a·x otherwise, with a
/// learnable slope a per channel (dimension 1; weight of C elements) or shared (weight of 1). dx = dy·(x &gt; 0 ? 1 : a),
/// da = Σ over the channel of dy·x where x ≤ 0. At x = 0 any slope between a and 1 is valid for dx; PyTorch takes a
/// (its backward tests x &gt; 0), the left. da is determined there: its term dy·0 is 0 whichever side.
/// </summary>
public sealed class Prelu : IOp, IHasJacobianStructure, IHasConventions, IHasMagnitudes
{
    private static readonly Situation AtZero = new("prelu_at_zero", "prelu at x = 0 (weight ≠ 1)", "left", ["left", "right", Kink.Mean]);

    private Prelu(string choice = "left") => Choice = choice;

    /// <summary>prelu taking PyTorch's slope, the weight, at 0.</summary>
    public static Prelu Of() => new();

    /// <summary>prelu: input and weight, no attributes; a kink at 0 unless the channel's weight is 1.</summary>
    public static OpDescriptor<Prelu> Descriptor { get; } = new()
    {
        Name = "prelu",
        Inputs = [new("input"), new("weight")],
        Attributes = [],
        Build = _ => Of(),
        Kinks = [AtZero],
        KnownBugs = (p, inputs, dy) =>
        [
            BugHypothesis.InTensor("grads.weight", "prelu's weight gradient sums dy·x over every element, also where x > 0",
                () => WeightGradient(Read(inputs), dy, (x, g) => x * g)),
            BugHypothesis.InTensor("grads.weight", "prelu's weight gradient is averaged over the channel's elements instead of summed",
                () => Divide(WeightGradient(Read(inputs), dy, (x, g) => x > 0 ? 0 : x * g), inputs["input"].Count / inputs["weight"].Count)),
            BugHypothesis.InTensor("grads.input", "prelu backward uses relu's gradient: dx = 0 for x ≤ 0, the weight left out",
                () => Tensor.Create(dy.Shape, i => inputs["input"].At(i) > 0 ? dy.At(i) : 0)),
        ],
        Examples = () =>
        [
            new(Of(), Inputs(Samples.With(Samples.Distinct(Shape.Of(2, 3, 4), 391), 0, 1, 6, 13), Tensor.Wrap(Shape.Of(3), [0.25, -0.5, 2])), ["per-channel", "zero"]),
            new(Of(), Inputs(Samples.Scaled(Shape.Of(1, 2, 3, 3), 392, 3), Tensor.Wrap(Shape.Of(1), [0.1])), ["shared"]),
            new(Of(), Inputs(Samples.With(Samples.Distinct(Shape.Of(2, 2, 5), 393), 0, 2, 11), Tensor.Wrap(Shape.Of(2), [1, 0.3])), ["weight-one", "zero"]),
        ],
        DrawCase = d =>
        {
            var x = d.AtKinks(Samples.Distinct(d.ChannelsFirst(d.Batch, d.Channels), d.DataSeed), 0);
            var w = d.OneIn(3) ? Shape.Of(1) : Shape.Of(d.Channels);
            if (w[0] == 1 && d.Channels > 1) d.Exercises("shared");
            return d.Case(Of(), Inputs(x, Samples.Scaled(w, d.DataSeed + 1, 0.5)));
        },
        DrawWeight = 0.25,
    };

    /// <summary>The choice at 0: left (the weight), right (1) or the mean.</summary>
    public string Choice { get; }

    /// <inheritdoc/>
    public string Name => "prelu";

    /// <inheritdoc/>
    public OpAttributes Attributes => OpAttributes.None;

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input", "weight"];

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs)
    {
        var (x, w, channels) = Read(inputs);
        return Tensor.Create(x.Shape, i => x.At(i) > 0 ? x.At(i) : w.At(channels.IndexOf(i)) * x.At(i)); // NaN: a·NaN
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var read = Read(inputs);
        return new(("input", Tensor.Create(gradOutput.Shape, i => gradOutput.At(i) * SlopeAt(read, i))),
            ("weight", WeightGradient(read, gradOutput, (x, g) => x > 0 ? 0 : x * g)));
    }

    /// <summary>The derivative dx uses at element <paramref name="i"/>: 1, the weight, or the chosen slope at 0.</summary>
    private double SlopeAt(Operands o, int i) =>
        KinkAt(o, i) is { } k ? k.Slope(Choice) : o.X.At(i) > 0 ? 1 : o.W.At(o.Channels.IndexOf(i)); // NaN: the weight, as PyTorch

    private static Kink? KinkAt(Operands o, int i) => o.X.At(i) == 0 ? new Kink(0, o.W.At(o.Channels.IndexOf(i)), 1) : null;

    private static Tensor WeightGradient(Operands o, Tensor dy, Func<double, double, double> term)
    {
        var dw = new double[o.W.Count];
        for (int i = 0; i < o.X.Count; i++) dw[o.Channels.IndexOf(i)] += term(o.X.At(i), dy.At(i));
        return Tensor.Wrap(o.W.Shape, dw);
    }

    private static Tensor Divide(Tensor t, int by) => Tensor.Create(t.Shape, i => t.At(i) / by);

    /// <inheritdoc/>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput)
    {
        var (read, y) = (Read(inputs), Forward(inputs));
        var output = Tensor.Create(y.Shape, i => Math.Abs(y.At(i)));
        var dx = Tensor.Create(y.Shape, i => Math.Abs(gradOutput.At(i) * SlopeAt(read, i)));
        var dw = WeightGradient(read, gradOutput, (v, g) => v > 0 ? 0 : Math.Abs(v * g)); // a sum: what was summed
        return new OpResult(output, new(("input", dx), ("weight", dw)));
    }

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) =>
        input == "input" ? JacobianStructure.Diagonal : null; // the weight's few elements each reach a whole channel

    /// <inheritdoc/>
    public IReadOnlyList<Situation> Situations => [AtZero];

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, string> Choices => new Dictionary<string, string> { [AtZero.Key] = Choice };

    /// <inheritdoc/>
    public IReadOnlyList<string> SituationsAt(NamedTensors inputs)
    {
        var read = Read(inputs);
        for (int i = 0; i < read.X.Count; i++)
            if (KinkAt(read, i) is { IsKink: true }) return [AtZero.Key];
        return [];
    }

    /// <inheritdoc/>
    public IOp WithConventions(IReadOnlyDictionary<string, string> choices) =>
        !choices.TryGetValue(AtZero.Key, out var c) || c == Choice ? this
            : AtZero.Choices.Contains(c) ? new Prelu(c)
            : throw new ParameterException(AtZero.Key, $"'{c}'", $"must be one of {string.Join(", ", AtZero.Choices)}");

    /// <inheritdoc/>
    public ConventionJudgement Judge(NamedTensors inputs, Tensor gradOutput, OpResult answer, AnswerComparer compare, IReadOnlyDictionary<string, string> required)
    {
        var read = Read(inputs);
        return KinkJudge.Judge(this, AtZero, "prelu at 0", i => KinkAt(read, i), inputs, gradOutput, answer, compare, required);
    }

    private static NamedTensors Inputs(Tensor x, Tensor w) => new(("input", x), ("weight", w));

    // The operands, and which weight element each input element uses, after checking the shapes as torch's prelu does.
    private static Operands Read(NamedTensors inputs)
    {
        var (x, w) = (inputs["input"], inputs["weight"]);
        if (w.Shape.Rank != 1) throw new ParameterException("weight", $"of shape {w.Shape}", "must be 1-D: one slope, or one per channel");
        if (w.Count == 1) return new(x, w, new AxisLayout(1, 1, x.Count));
        if (x.Shape.Rank < 2 || x.Shape[1] != w.Count)
            throw new ParameterException("weight", $"of {w.Count} elements", $"must have 1 element or one per channel (dimension 1 of input {x.Shape})");
        return new(x, w, AxisLayout.Of(x.Shape, 1));
    }

    private readonly record struct Operands(Tensor X, Tensor W, AxisLayout Channels);
}
