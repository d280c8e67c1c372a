using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// mish (Misra 2019), as torch.nn.functional.mish: y = x·tanh(softplus(x)), whose derivative is
/// tanh(sp) + x·sech²(sp)·σ(x) with sp = softplus(x) = ln(1 + eˣ). Smooth everywhere. softplus is computed as
/// max(x, 0) + log1p(e^-|x|), which neither overflows nor loses the left tail, and sech² as 1/cosh², not 1 - tanh².
/// </summary>
public sealed class Mish : IOp, IHasJacobianStructure
{
    /// <summary>mish; no attributes (the protocol has no inplace).</summary>
    public static OpDescriptor<Mish> Descriptor { get; } = new()
    {
        Name = "mish",
        Inputs = [new("input")],
        Attributes = [],
        Build = _ => new Mish(),
        KnownBugs = (_, inputs, dy) =>
        [
            BugHypothesis.InTensor("grads.input", "mish backward misses the x·sech²(softplus(x))·σ(x) term: dx = dy·tanh(softplus(x))",
                () => Tensor.Create(dy.Shape, i => dy.At(i) * Math.Tanh(Elementwise.Softplus(inputs["input"].At(i))))),
        ],
        Examples = () =>
        [
            new(new Mish(), NamedTensors.Input(Samples.Distinct(Shape.Of(2, 3, 5), 321)), ["basic"]),
            // The tails: the slope goes to 0 on the left (as x·eˣ) and to 1 on the right.
            new(new Mish(), NamedTensors.Input(Samples.Scaled(Shape.Of(1, 2, 8), 322, 8)), ["tails"]),
            new(new Mish(), NamedTensors.Input(Samples.Scaled(Shape.Of(1, 3, 4), 323, 0.05)), ["small"]),
        ],
        DrawCase = d => d.Case(new Mish(), NamedTensors.Input(Samples.Distinct(d.ChannelsFirst(d.Batch, d.Channels), d.DataSeed))),
        DrawWeight = 0.25,
    };

    /// <inheritdoc/>
    public string Name => "mish";

    /// <inheritdoc/>
    public OpAttributes Attributes => OpAttributes.None;

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    private static double Value(double x) => x * Math.Tanh(Elementwise.Softplus(x));

    private static double DyDx(double x)
    {
        double sp = Elementwise.Softplus(x), cosh = Math.Cosh(sp);
        return Math.Tanh(sp) + x * Elementwise.Sigmoid(x) / (cosh * cosh);
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
