using GradOracle.Tensors;
using static MathNet.Numerics.SpecialFunctions;

namespace GradOracle.Layers;

/// <summary>
/// gelu (Hendrycks and Gimpel 2016), as torch.nn.functional.gelu: y = x·Φ(x) = x/2·(1 + erf(x/√2)), whose
/// derivative is Φ(x) + x·φ(x); with approximate='tanh', y = x/2·(1 + tanh u), u = √(2/π)·(x + 0.044715·x³),
/// whose derivative is (1 + tanh u)/2 + x/2·(1 - tanh² u)·√(2/π)·(1 + 3·0.044715·x²). Smooth everywhere. Computed
/// without the cancellation of 1 + erf and 1 + tanh in the left tail, which PyTorch's formulas have.
/// </summary>
public sealed class Gelu(bool tanh = false) : IOp, IHasJacobianStructure
{
    private const double Kappa = 0.044715;
    private static readonly double SqrtTwoOverPi = Math.Sqrt(2 / Math.PI), InvSqrtTwoPi = 1 / Math.Sqrt(2 * Math.PI);

    /// <summary>gelu, exact or with the tanh approximation.</summary>
    public static OpDescriptor<Gelu> Descriptor { get; } = new()
    {
        Name = "gelu",
        Inputs = [new("input")],
        Attributes = [new("approximate", "'none' (the erf form) or 'tanh'", "'none'")],
        Build = a => new Gelu(a.Choice("approximate", false, ["none", "tanh"], s => s switch
        {
            "none" => false,
            "tanh" => true,
            _ => throw new ParameterException("approximate", $"'{s}'", "must be 'none' or 'tanh'"),
        })),
        KnownBugs = (g, inputs, dy) =>
        [
            BugHypothesis.InWholeAnswer($"output: the {(g.Tanh ? "exact erf form" : "tanh approximation")} computed where approximate='{(g.Tanh ? "tanh" : "none")}' was asked",
                () => OpResult.Of(new Gelu(!g.Tanh), inputs, dy)),
            BugHypothesis.InTensor("grads.input", "gelu backward misses the x·φ(x) term: dx = dy·Φ(x), as if Φ(x) were a constant gate",
                () => g.Tanh ? null : Tensor.Create(dy.Shape, i => dy.At(i) * Phi(inputs["input"].At(i)))),
        ],
        Examples = () =>
        [
            new(new Gelu(), NamedTensors.Input(Samples.Distinct(Shape.Of(2, 3, 5), 301)), ["erf"]),
            new(new Gelu(tanh: true), NamedTensors.Input(Samples.Distinct(Shape.Of(2, 3, 5), 302)), ["tanh"]),
            // The tails, where Φ saturates to 0 and 1 and the x·φ(x) term vanishes (to ±6: beyond, the slope is so small that
            // its third-order change exceeds the kink test's 1e-7 of it, and the check refines a smooth point as a kink).
            new(new Gelu(), NamedTensors.Input(Samples.Scaled(Shape.Of(1, 2, 8), 303, 6)), ["erf", "tails"]),
            new(new Gelu(tanh: true), NamedTensors.Input(Samples.Scaled(Shape.Of(1, 2, 8), 304, 6)), ["tanh", "tails"]),
        ],
        DrawCase = d => d.Case(new Gelu(d.OneIn(2)), NamedTensors.Input(Samples.Distinct(d.ChannelsFirst(d.Batch, d.Channels), d.DataSeed))),
        DrawWeight = 0.5,
    };

    /// <summary>Whether the tanh approximation is used.</summary>
    public bool Tanh { get; } = tanh;

    /// <inheritdoc/>
    public string Name => "gelu";

    /// <inheritdoc/>
    public OpAttributes Attributes => new(("approximate", Tanh ? "tanh" : "none"));

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    // Φ(x) = erfc(-x/√2)/2, not (1 + erf(x/√2))/2: in the left tail 1 + erf cancels to a few correct digits.
    private static double Phi(double x) => 0.5 * Erfc(-x * Math.Sqrt(0.5));

    private static double U(double x) => SqrtTwoOverPi * (x + Kappa * x * x * x);

    // 1 + tanh u = 2σ(2u) and 1 - tanh² u = 4σ(2u)σ(-2u), free of the same cancellation.
    private double Value(double x) => Tanh ? x * Elementwise.Sigmoid(2 * U(x)) : x * Phi(x);

    private double DyDx(double x)
    {
        if (!Tanh) return Phi(x) + x * InvSqrtTwoPi * Math.Exp(-0.5 * x * x);
        double u = U(x), plus = Elementwise.Sigmoid(2 * u);
        return plus + 2 * x * plus * Elementwise.Sigmoid(-2 * u) * SqrtTwoOverPi * (1 + 3 * Kappa * x * x);
    }

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs) => Elementwise.Forward(inputs, Value);

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput) => Elementwise.Backward(inputs, gradOutput, DyDx);

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) => JacobianStructure.Diagonal;

    /// <inheritdoc/>
    public bool IsSmooth => true;
}
