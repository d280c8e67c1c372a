using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// silu (swish with β = 1; Elfwing et al. 2017, Ramachandran et al. 2017), as torch.nn.functional.silu:
/// y = x·σ(x), whose derivative is σ(x) + x·σ(x)·σ(-x) = σ(x)·(1 + x·(1 - σ(x))). Smooth everywhere. σ(-x) is
/// computed as itself, not as 1 - σ(x), which cancels for large x.
/// </summary>
public sealed class Silu : IOp, IHasJacobianStructure
{
    /// <summary>silu; no attributes (the protocol has no inplace).</summary>
    public static OpDescriptor<Silu> Descriptor { get; } = new()
    {
        Name = "silu",
        Inputs = [new("input")],
        Attributes = [],
        Build = _ => new Silu(),
        KnownBugs = (_, inputs, dy) =>
        [
            BugHypothesis.InTensor("grads.input", "silu backward misses the x·σ(x)·σ(-x) term: dx = dy·σ(x), as if σ(x) were a constant gate",
                () => Tensor.Create(dy.Shape, i => dy.At(i) * Elementwise.Sigmoid(inputs["input"].At(i)))),
            BugHypothesis.InTensor("grads.input", "silu backward uses sigmoid's derivative: dx = dy·σ(x)·(1 - σ(x))",
                () => Tensor.Create(dy.Shape, i => dy.At(i) * Elementwise.Sigmoid(inputs["input"].At(i)) * Elementwise.Sigmoid(-inputs["input"].At(i)))),
        ],
        Examples = () =>
        [
            new(new Silu(), NamedTensors.Input(Samples.Distinct(Shape.Of(2, 3, 5), 311)), ["basic"]),
            // The tails: σ saturates to 0 and 1, the slope to 0 on the left and 1 on the right.
            new(new Silu(), NamedTensors.Input(Samples.Scaled(Shape.Of(1, 2, 8), 312, 8)), ["tails"]),
            // Near 0 the slope is about 1/2 + x/2; without the x·σ(x)·σ(-x) term it would be 1/2 + x/4.
            new(new Silu(), NamedTensors.Input(Samples.Scaled(Shape.Of(1, 3, 4), 313, 0.05)), ["small"]),
        ],
        DrawCase = d => d.Case(new Silu(), NamedTensors.Input(Samples.Distinct(d.ChannelsFirst(d.Batch, d.Channels), d.DataSeed))),
        DrawWeight = 0.25,
    };

    /// <inheritdoc/>
    public string Name => "silu";

    /// <inheritdoc/>
    public OpAttributes Attributes => OpAttributes.None;

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];


    private static double Value(double x) => x * Elementwise.Sigmoid(x);

    private static double DyDx(double x) => Elementwise.Sigmoid(x) + x * Elementwise.Sigmoid(x) * Elementwise.Sigmoid(-x);

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs) => Elementwise.Forward(inputs, Value);

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput) => Elementwise.Backward(inputs, gradOutput, DyDx);

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) => JacobianStructure.Diagonal;

    /// <inheritdoc/>
    public bool IsSmooth => true;
}
