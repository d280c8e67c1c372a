using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>An elementwise activation: forward and derivative side by side.</summary>
public sealed class Activation : IOp, IHasInvariants, IHasJacobianStructure, IHasConventions
{
    private Activation(ActivationKind kind, double negativeSlope, double? slopeAtZero = null)
    {
        Kind = kind;
        NegativeSlope = negativeSlope;
        SlopeAtZero = slopeAtZero ?? (kind == ActivationKind.LeakyRelu ? negativeSlope : 0);
    }

    /// <summary>relu.</summary>
    public static Activation Relu() => new(ActivationKind.Relu, 0);

    /// <summary>leaky_relu with PyTorch's default slope 0.01.</summary>
    public static Activation LeakyRelu(double negativeSlope = 0.01) =>
        double.IsFinite(negativeSlope) ? new(ActivationKind.LeakyRelu, negativeSlope)
            : throw new ParameterException("negative_slope", negativeSlope.ToString(), "must be finite");

    /// <summary>sigmoid.</summary>
    public static Activation Sigmoid() => new(ActivationKind.Sigmoid, 0);

    /// <summary>tanh.</summary>
    public static Activation Tanh() => new(ActivationKind.Tanh, 0);

    /// <summary>relu: a kink at 0, where any slope in [0, 1] is valid.</summary>
    public static OpDescriptor<Activation> ReluDescriptor { get; } = Described("relu", _ => Relu());

    /// <summary>leaky_relu: a kink at 0, where negative_slope and 1 are the conventions.</summary>
    public static OpDescriptor<Activation> LeakyReluDescriptor { get; } = Described("leaky_relu", a => LeakyRelu(a.Double("negative_slope", 0.01)),
        [new("negative_slope", "a finite number", "0.01")], rng => LeakyRelu(rng.Next(2) == 0 ? 0.01 : 0.2));

    /// <summary>sigmoid.</summary>
    public static OpDescriptor<Activation> SigmoidDescriptor { get; } = Described("sigmoid", _ => Sigmoid());

    /// <summary>tanh.</summary>
    public static OpDescriptor<Activation> TanhDescriptor { get; } = Described("tanh", _ => Tanh());

    private static OpDescriptor<Activation> Described(string name, Func<OpArguments, Activation> build, OpAttribute[]? attributes = null, Func<Random, Activation>? draw = null)
    {
        var plain = build(new OpArguments(name, 0, OpAttributes.None, new HashSet<string>())); // its defaults; immutable, so drawn as is
        return new()
        {
            Name = name,
            Inputs = [new("input")],
            Attributes = attributes ?? [],
            Build = build,
            Exact = a => a.Kind == ActivationKind.Relu, // dy·0 or dy·1
            Kinks = ActivationConventions.Of(plain.Kind),
            Invariants = plain.Kind == ActivationKind.Relu ? [ReluMask] : [],
            DrawCase = d =>
            {
                var x = Samples.Distinct(d.ChannelsFirst(d.Batch, d.Channels), d.DataSeed);
                if (d.OneIn(2)) { x = Samples.With(x, 0.0, d.Rng.Next(x.Count)); d.Exercises("zero"); }
                return d.Case(draw?.Invoke(d.Rng) ?? plain, NamedTensors.Input(x));
            },
            DrawWeight = 0.25,
        };
    }

    /// <summary>Which activation.</summary>
    public ActivationKind Kind { get; }

    /// <summary>leaky_relu's slope for x &lt;= 0.</summary>
    public double NegativeSlope { get; }

    /// <summary>
    /// The derivative used at x = 0, where relu and leaky_relu have none (any value between the one-sided slopes
    /// is a valid choice): PyTorch's 0 for relu and negative_slope for leaky_relu unless
    /// <see cref="WithSlopeAtZero"/> chose another.
    /// </summary>
    public double SlopeAtZero { get; }

    /// <summary>The same activation with another derivative at x = 0 (relu and leaky_relu only).</summary>
    public Activation WithSlopeAtZero(double slope) => Kind is ActivationKind.Relu or ActivationKind.LeakyRelu && double.IsFinite(slope)
        ? new(Kind, NegativeSlope, slope)
        : throw new ParameterException("slope_at_zero", slope.ToString(System.Globalization.CultureInfo.InvariantCulture), $"{Name} has no kink at 0, or the slope is not finite");

    /// <inheritdoc/>
    public string Name => Kind switch
    {
        ActivationKind.Relu => "relu",
        ActivationKind.LeakyRelu => "leaky_relu",
        ActivationKind.Sigmoid => "sigmoid",
        _ => "tanh",
    };

    /// <inheritdoc/>
    public OpAttributes Attributes => Kind == ActivationKind.LeakyRelu ? new(("negative_slope", NegativeSlope)) : OpAttributes.None;

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    private double Value(double x) => Kind switch
    {
        ActivationKind.Relu => x <= 0 ? 0.0 : x,                 // NaN passes through, -0 becomes +0 (PyTorch's threshold)
        ActivationKind.LeakyRelu => x > 0 ? x : x * NegativeSlope,
        ActivationKind.Sigmoid => Elementwise.Sigmoid(x),
        _ => Math.Tanh(x),
    };

    private double DyDx(double x, double y) => Kind switch
    {
        ActivationKind.Relu => x < 0 ? 0 : x == 0 ? SlopeAtZero : 1,                   // NaN: 1, as PyTorch's threshold_backward
        ActivationKind.LeakyRelu => x > 0 ? 1 : x == 0 ? SlopeAtZero : NegativeSlope,
        ActivationKind.Sigmoid => y * (1 - y),
        _ => 1 - y * y,
    };

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs) => Elementwise.Forward(inputs, Value);

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput) =>
        Elementwise.Backward(inputs, gradOutput, x => DyDx(x, Value(x))); // relu: dy·0 or dy·1 exactly

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) => JacobianStructure.Diagonal;

    /// <inheritdoc/>
    public IReadOnlyList<Situation> Situations => ActivationConventions.Of(Kind);

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, string> Choices => ActivationConventions.Choices(this);

    /// <inheritdoc/>
    public IReadOnlyList<string> SituationsAt(NamedTensors inputs) => ActivationConventions.SituationsAt(this, inputs);

    /// <inheritdoc/>
    public IOp WithConventions(IReadOnlyDictionary<string, string> choices) => ActivationConventions.WithConventions(this, choices);

    /// <inheritdoc/>
    public ConventionJudgement Judge(NamedTensors inputs, Tensor gradOutput, OpResult answer, AnswerComparer compare, IReadOnlyDictionary<string, string> required) =>
        ActivationConventions.Judge(this, inputs, gradOutput, answer, compare, required);

    /// <inheritdoc/>
    public InvariantReport CheckInvariants(NamedTensors inputs, Tensor gradOutput, NamedTensors gradients) =>
        InvariantsOf(this, inputs["input"], gradOutput, gradients["input"]);

    /// <summary>Name: relu's gradient.</summary>
    public const string ReluMask = "dx = dy * [x > 0] exactly off 0, within [0, 1]·dy at 0";

    /// <summary>
    /// relu: dx = dy·[x &gt; 0] bit for bit away from 0, and at x = 0 a value between 0 and dy (relu has no derivative there:
    /// any slope in [0, 1] is valid). Other activations have no exact invariant.
    /// </summary>
    private static InvariantReport InvariantsOf(Activation op, Tensor x, Tensor dy, Tensor dx)
    {
        var r = new InvariantReport.Builder();
        if (op.Kind != ActivationKind.Relu) return r.Build();
        if (dx.Shape != x.Shape) { r.Violated(ReluMask, $"dx has shape {dx.Shape}, the input {x.Shape}"); return r.Build(); }
        for (int i = 0; i < x.Count; i++)
        {
            double v = x.At(i), d = dx.At(i), g = dy.At(i);
            if (double.IsNaN(v)) continue;
            bool ok = v > 0 ? d.Equals(g) : v < 0 ? d == 0 : d >= Math.Min(0, g) && d <= Math.Max(0, g);
            if (ok) continue;
            r.Violated(ReluMask, $"input[{string.Join(", ", x.Shape.Coordinates(i))}] = {Tensor.FormatNumber(v)}: dx = {Tensor.FormatNumber(d)}, " +
                (v == 0 ? $"outside [0, 1]·dy = [{Tensor.FormatNumber(Math.Min(0, g))}, {Tensor.FormatNumber(Math.Max(0, g))}]" : $"dy·[x > 0] = {Tensor.FormatNumber(v > 0 ? g : 0)}"));
            return r.Build();
        }
        r.Checked(ReluMask);
        return r.Build();
    }
}
