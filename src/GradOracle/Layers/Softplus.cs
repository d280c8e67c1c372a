using System.Globalization;
using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// softplus, as torch.nn.functional.softplus: y = ln(1 + e^(β·x))/β, and y = x where β·x &gt; threshold (PyTorch's
/// switch to the identity, for speed and against overflow); dy/dx = σ(β·x), and 1 past the switch. Smooth but at the
/// switch, where the value jumps by ln(1 + e^-threshold)/β (2·10^-9 at the default 20) and the slope by 1 - σ(threshold).
/// </summary>
public sealed class Softplus : IOp, IHasJacobianStructure
{
    private Softplus(double beta, double threshold)
    {
        Beta = beta;
        Threshold = threshold;
    }

    /// <summary>softplus with <paramref name="beta"/> and <paramref name="threshold"/>.</summary>
    public static Softplus Of(double beta = 1, double threshold = 20)
    {
        if (!double.IsFinite(beta) || beta == 0) throw new ParameterException("beta", Show(beta), "must be finite and not 0 (softplus divides by it)");
        if (double.IsNaN(threshold)) throw new ParameterException("threshold", Show(threshold), "must be a number");
        return new(beta, threshold);
    }

    /// <summary>softplus.</summary>
    public static OpDescriptor<Softplus> Descriptor { get; } = new()
    {
        Name = "softplus",
        Inputs = [new("input")],
        Attributes = [new("beta", "a finite number other than 0", "1.0"), new("threshold", "a number", "20.0")],
        Build = a => Of(a.Double("beta", 1), a.Double("threshold", 20)),
        KnownBugs = (s, inputs, dy) =>
        [
            BugHypothesis.InTensor("grads.input", "softplus backward ignores beta: dx = dy·σ(x) for dy·σ(β·x)",
                () => s.Beta == 1 ? null : Tensor.Create(dy.Shape, i => dy.At(i) * (inputs["input"].At(i) * s.Beta > s.Threshold ? 1 : Elementwise.Sigmoid(inputs["input"].At(i))))),
            BugHypothesis.InTensor("grads.input", "softplus backward ignores the threshold: dx = dy·σ(β·x) where β·x > threshold, for dy",
                () => Tensor.Create(dy.Shape, i => dy.At(i) * Elementwise.Sigmoid(s.Beta * inputs["input"].At(i)))),
        ],
        // Inputs stay clear of the switch at threshold/β, where the forward jumps.
        Examples = () =>
        [
            new(Of(), NamedTensors.Input(Samples.Scaled(Shape.Of(2, 3, 4), 391, 6)), ["basic"]),
            new(Of(beta: 2), NamedTensors.Input(Samples.Distinct(Shape.Of(1, 2, 6), 392)), ["beta"]),
            new(Of(beta: 0.5, threshold: 1), NamedTensors.Input(Samples.Scaled(Shape.Of(1, 1, 3, 3), 393, 8)), ["beta", "threshold"]),
        ],
        DrawCase = d => d.Case(Of(d.OneIn(2) ? 1 : d.Int(1, 4) * 0.5, d.OneIn(2) ? 20 : 1), NamedTensors.Input(Samples.Scaled(d.ChannelsFirst(d.Batch, d.Channels), d.DataSeed, 4))),
        DrawWeight = 0.25,
    };

    /// <summary>β.</summary>
    public double Beta { get; }

    /// <summary>Where β·x switches to the identity.</summary>
    public double Threshold { get; }

    /// <inheritdoc/>
    public string Name => "softplus";

    /// <inheritdoc/>
    public OpAttributes Attributes => new(("beta", Beta), ("threshold", Threshold));

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    private double Value(double x) => x * Beta > Threshold ? x : Elementwise.Softplus(Beta * x) / Beta;

    private double DyDx(double x) => x * Beta > Threshold ? 1 : Elementwise.Sigmoid(Beta * x);

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs) => Elementwise.Forward(inputs, Value);

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput) => Elementwise.Backward(inputs, gradOutput, DyDx);

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) => JacobianStructure.Diagonal;

    private static string Show(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
