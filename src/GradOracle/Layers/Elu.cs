using System.Globalization;
using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// The exponential linear units as torch.nn.functional defines them, one formula with three settings:
/// y = scale·x for x &gt; 0, scale·alpha·(e^(x·input_scale) - 1) otherwise. elu (Clevert et al. 2015) has scale 1,
/// input_scale 1; selu (Klambauer et al. 2017) its fixed λ and α; celu (Barron 2017) input_scale 1/alpha, which
/// makes it continuously differentiable. At 0 the one-sided slopes are scale·alpha·input_scale and scale: a kink
/// unless they agree (elu with alpha 1, every celu); where they differ any slope between is valid and PyTorch takes the left's.
/// </summary>
public sealed class Elu : KinkedActivation
{
    /// <summary>selu's λ (Klambauer et al. 2017; PyTorch's constant).</summary>
    public const double SeluScale = 1.0507009873554804934193349852946;

    /// <summary>selu's α.</summary>
    public const double SeluAlpha = 1.6732632423543772848170429916717;

    private static readonly Situation EluAtZero = SituationOf("elu_at_zero", "elu at x = 0 (alpha ≠ 1)", "left", edges: false);
    private static readonly Situation SeluAtZero = SituationOf("selu_at_zero", "selu at x = 0", "left", edges: false);

    private readonly string name;

    private Elu(string name, double alpha, double scale, double inputScale, string choice = "left") : base(choice)
    {
        this.name = name;
        Alpha = alpha;
        Scale = scale;
        InputScale = inputScale;
        // celu's one-sided slopes at 0 are both 1, though scale·alpha·input_scale may round away from it.
        Kinks = name == "celu" ? [] : [new Kink(0, scale * alpha * inputScale, scale)];
    }

    /// <summary>elu with <paramref name="alpha"/>.</summary>
    public static Elu Of(double alpha = 1) => double.IsFinite(alpha) ? new("elu", alpha, 1, 1) : throw new ParameterException("alpha", Show(alpha), "must be finite");

    /// <summary>selu.</summary>
    public static Elu Selu() => new("selu", SeluAlpha, SeluScale, 1);

    /// <summary>celu with <paramref name="alpha"/>.</summary>
    public static Elu Celu(double alpha = 1) => double.IsFinite(alpha) && alpha != 0 ? new("celu", alpha, 1, 1 / alpha)
        : throw new ParameterException("alpha", Show(alpha), "must be finite and not 0 (celu divides by it)");

    /// <summary>elu: a kink at 0 unless alpha = 1.</summary>
    public static OpDescriptor<Elu> Descriptor { get; } = new()
    {
        Name = "elu",
        Inputs = [new("input")],
        Attributes = [new("alpha", "a finite number", "1.0")],
        Build = a => Of(a.Double("alpha", 1)),
        Kinks = [EluAtZero],
        KnownBugs = (e, inputs, dy) =>
        [
            BugHypothesis.InTensor("grads.input", "elu backward uses the output as the slope for x ≤ 0, without adding alpha: dx = dy·y",
                () => Tensor.Create(dy.Shape, i => inputs["input"].At(i) <= 0 ? dy.At(i) * e.Value(inputs["input"].At(i)) : dy.At(i))),
            BugHypothesis.InWholeAnswer($"alpha ignored: elu with alpha 1 for alpha {Show(e.Alpha)}", () => e.Alpha == 1 ? null : OpResult.Of(Of(), inputs, dy)),
        ],
        Examples = () =>
        [
            new(Of(), NamedTensors.Input(Samples.Distinct(Shape.Of(2, 3, 4), 361)), ["basic"]),
            new(Of(0.5), NamedTensors.Input(Samples.With(Samples.Scaled(Shape.Of(1, 2, 6), 362, 3), 0, 2, 9)), ["alpha", "zero"]),
            new(Of(2.5), NamedTensors.Input(Samples.With(Samples.Scaled(Shape.Of(1, 1, 3, 3), 363, 6), 0, 4)), ["alpha", "zero", "tails"]),
        ],
        DrawCase = d =>
        {
            var e = d.OneIn(2) ? Of() : Of(d.Int(1, 4) * 0.5);
            var x = Samples.Distinct(d.ChannelsFirst(d.Batch, d.Channels), d.DataSeed);
            // With alpha 1, 0 is no kink but elu is not C2 there, and central differences keep an O(h) error across it.
            return d.Case(e, NamedTensors.Input(e.Alpha == 1 ? x : d.AtKinks(x, 0)));
        },
        DrawWeight = 0.25,
    };

    /// <summary>selu: a kink at 0.</summary>
    public static OpDescriptor<Elu> SeluDescriptor { get; } = new()
    {
        Name = "selu",
        Inputs = [new("input")],
        Attributes = [],
        Build = _ => Selu(),
        Kinks = [SeluAtZero],
        KnownBugs = (e, inputs, dy) =>
        [
            BugHypothesis.InTensor("grads.input", "selu backward misses the scale λ: dx = dy·α·e^x for x ≤ 0, dy otherwise",
                () => Tensor.Create(dy.Shape, i => dy.At(i) * e.SlopeAt(inputs["input"].At(i)) / SeluScale)),
        ],
        Examples = () =>
        [
            new(Selu(), NamedTensors.Input(Samples.Distinct(Shape.Of(2, 3, 4), 371)), ["basic"]),
            new(Selu(), NamedTensors.Input(Samples.With(Samples.Scaled(Shape.Of(1, 2, 6), 372, 4), 0, 3, 8)), ["zero"]),
            new(Selu(), NamedTensors.Input(Samples.Scaled(Shape.Of(1, 1, 2, 4), 373, 8)), ["tails"]),
        ],
        DrawCase = d => d.Case(Selu(), NamedTensors.Input(d.AtKinks(Samples.Distinct(d.ChannelsFirst(d.Batch, d.Channels), d.DataSeed), 0))),
        DrawWeight = 0.25,
    };

    /// <summary>celu: continuously differentiable for every alpha.</summary>
    public static OpDescriptor<Elu> CeluDescriptor { get; } = new()
    {
        Name = "celu",
        Inputs = [new("input")],
        Attributes = [new("alpha", "a finite number other than 0", "1.0")],
        Build = a => Celu(a.Double("alpha", 1)),
        KnownBugs = (e, inputs, dy) =>
        [
            BugHypothesis.InTensor("grads.input", "celu backward misses the 1/alpha in the exponent: dx = dy·e^x for x ≤ 0",
                () => e.Alpha == 1 ? null : Tensor.Create(dy.Shape, i => inputs["input"].At(i) <= 0 ? dy.At(i) * Math.Exp(inputs["input"].At(i)) : dy.At(i))),
        ],
        Examples = () =>
        [
            new(Celu(), NamedTensors.Input(Samples.Distinct(Shape.Of(2, 3, 4), 381)), ["basic"]),
            // No exact 0: celu is C1 but not C2 there, and central differences keep an O(h) error across it.
            new(Celu(0.5), NamedTensors.Input(Samples.Scaled(Shape.Of(1, 2, 6), 382, 3)), ["alpha"]),
            new(Celu(3), NamedTensors.Input(Samples.Scaled(Shape.Of(1, 1, 2, 4), 383, 8)), ["alpha", "tails"]),
        ],
        DrawCase = d => d.Case(Celu(d.OneIn(2) ? 1 : d.Int(1, 4) * 0.5), NamedTensors.Input(Samples.Distinct(d.ChannelsFirst(d.Batch, d.Channels), d.DataSeed))),
        DrawWeight = 0.25,
    };

    /// <summary>alpha (selu's α).</summary>
    public double Alpha { get; }

    /// <summary>The output scale (selu's λ; 1 otherwise).</summary>
    public double Scale { get; }

    /// <summary>The input's scale inside the exponential (celu's 1/alpha; 1 otherwise).</summary>
    public double InputScale { get; }

    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override OpAttributes Attributes => name == "selu" ? OpAttributes.None : new(("alpha", Alpha));

    /// <inheritdoc/>
    public override Situation Situation => name == "selu" ? SeluAtZero : EluAtZero; // celu has no kink

    /// <inheritdoc/>
    public override IReadOnlyList<Kink> Kinks { get; }

    /// <inheritdoc/>
    public override double Value(double x) => x > 0 ? Scale * x : Scale * Alpha * Elementwise.Expm1(x * InputScale); // NaN passes through

    /// <inheritdoc/>
    protected override double SlopeAway(double x) => x <= 0 ? Scale * Alpha * InputScale * Math.Exp(x * InputScale) : Scale; // NaN: scale, as PyTorch's elu_backward

    /// <inheritdoc/>
    protected override KinkedActivation With(string choice) => new Elu(name, Alpha, Scale, InputScale, Checked(Situation, choice));

    private static string Show(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
