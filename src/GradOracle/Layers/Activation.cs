using GradOracle.Checking;
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
    public OpAttributes Attrs => Kind == ActivationKind.LeakyRelu ? new(("negative_slope", NegativeSlope)) : OpAttributes.None;

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    private double F(double x) => Kind switch
    {
        ActivationKind.Relu => x <= 0 ? 0.0 : x,                 // NaN passes through, -0 becomes +0 (PyTorch's threshold)
        ActivationKind.LeakyRelu => x > 0 ? x : x * NegativeSlope,
        ActivationKind.Sigmoid => 1 / (1 + Math.Exp(-x)),
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
    public Tensor Forward(NamedTensors inputs)
    {
        var x = inputs["input"];
        return Tensor.Create(x.Shape, i => F(x.At(i)));
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var x = inputs["input"];
        Tensor.RequireShape("grad_output", gradOutput, x.Shape);
        // relu multiplies by exactly 0 or 1, so dx = dy·[x > 0] holds bit for bit.
        return NamedTensors.Input(Tensor.Create(x.Shape, i => gradOutput.At(i) * DyDx(x.At(i), F(x.At(i)))));
    }

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
        LayerInvariants.Activation(this, inputs["input"], gradOutput, gradients["input"]);
}
