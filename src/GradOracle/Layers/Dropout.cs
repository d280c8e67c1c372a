using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// dropout(input, mask, p, training) with the mask given, so that the result is a function: PyTorch's inverted dropout,
/// y = x·mask·1/(1 - p) in training (its native_dropout's scale) and y = x in evaluation, where the mask is not read.
/// dx = dy·mask/(1 - p), or dy. The mask holds 0 and 1 (dropped and kept) in the input's shape; p = 1 drops everything
/// (y = 0, as PyTorch gives).
/// </summary>
public sealed class Dropout(double p = 0.5, bool training = true) : IOp, IHasMagnitudes, IHasJacobianStructure
{
    /// <summary>dropout with its mask as an input.</summary>
    public static OpDescriptor<Dropout> Descriptor { get; } = new()
    {
        Name = "dropout",
        Inputs = [new("input"), new("mask", Differentiable: false)],
        Attributes = [new("p", "the probability an element was dropped, in [0, 1]", "0.5"), new("training", "true: apply the mask and the scale; false: the identity", "True")],
        Build = a => new Dropout(a.Double("p", 0.5), a.Bool("training", true)),
        KnownBugs = (d, inputs, dy) => d.Training
            ?
            [
                BugHypothesis.InWholeAnswer($"output: the scale 1/(1 - p) = {Tensor.FormatNumber(Math.Round(d.Scale, 6))} missing, y = x·mask (non-inverted dropout, which scales at evaluation instead)",
                    () => d.P is > 0 and < 1 ? OpResult.Of(new Dropout(0, true), inputs, dy) : null),
                BugHypothesis.InTensor("grads.input", "dropout backward misses the mask: dy/(1 - p) everywhere, the dropped elements included",
                    () => Tensor.Create(dy.Shape, i => dy.At(i) * d.Scale)),
            ]
            :
            [
                BugHypothesis.InWholeAnswer("output: the mask and scale applied with training=False; evaluation is the identity",
                    () => OpResult.Of(new Dropout(d.P, true), inputs, dy)),
                BugHypothesis.InWholeAnswer($"output: evaluation scaled by 1 - p = {Tensor.FormatNumber(1 - d.P)} (non-inverted dropout's rule); PyTorch's inverted dropout leaves it as it is",
                    () => d.P > 0 ? new OpResult(inputs["input"].Scaled(1 - d.P), NamedTensors.Input(dy.Scaled(1 - d.P))) : null),
            ],
        Examples = () =>
        [
            new(new Dropout(0.5), Inputs(Samples.Distinct(Shape.Of(2, 3, 4), 551), 552, 0.5), ["training"]),
            new(new Dropout(0.2), Inputs(Samples.Distinct(Shape.Of(1, 2, 3, 3), 553), 554, 0.2), ["training", "p"]),
            new(new Dropout(0.3, training: false), Inputs(Samples.Distinct(Shape.Of(2, 5), 555), 556, 0.3), ["evaluation"]),
        ],
        DrawCase = d =>
        {
            double p = d.Int(0, 8) / 10.0;
            bool training = !d.OneIn(4);
            return d.Case(new Dropout(p, training), Inputs(Samples.Distinct(d.ChannelsFirst(d.Batch, d.Channels), d.DataSeed), d.DataSeed + 1, p),
                training ? "training" : "evaluation");
        },
        DrawWeight = 0.25,
    };

    /// <summary>The input and a mask keeping each element with probability 1 - <paramref name="p"/>.</summary>
    private static NamedTensors Inputs(Tensor x, int seed, double p)
    {
        var u = Samples.Uniforms(x.Shape, seed);
        return new(("input", x), ("mask", Tensor.Create(x.Shape, i => u.At(i) > p ? 1 : 0)));
    }

    /// <summary>The probability an element was dropped.</summary>
    public double P { get; } = p is >= 0 and <= 1 ? p : throw new ParameterException("p", Tensor.FormatNumber(p), "must be a probability, in [0, 1]");

    /// <summary>Whether the mask and scale apply.</summary>
    public bool Training { get; } = training;

    /// <summary>1/(1 - p), or 0 for p = 1 (everything dropped).</summary>
    private double Scale => P == 1 ? 0 : 1 / (1 - P);

    /// <inheritdoc/>
    public string Name => "dropout";

    /// <inheritdoc/>
    public OpAttributes Attributes => new(("p", P), ("training", Training));

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    /// <summary>Each element's factor: mask·scale in training, 1 in evaluation. The mask is checked either way.</summary>
    private Func<int, double> Factor(NamedTensors inputs)
    {
        var (x, mask) = (inputs["input"], inputs["mask"]);
        PointwiseReduction.RequireSameShape("mask", mask, x);
        for (int i = 0; i < mask.Count; i++)
            if (mask.At(i) is not (0 or 1))
                throw new ParameterException($"mask[{string.Join(", ", mask.Shape.Coordinates(i))}]", Tensor.FormatNumber(mask.At(i)), "must be 0 (dropped) or 1 (kept)");
        double scale = Scale;
        return Training ? i => mask.At(i) * scale : _ => 1;
    }

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs)
    {
        var f = Factor(inputs);
        var x = inputs["input"];
        return Tensor.Create(x.Shape, i => x.At(i) * f(i));
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var f = Factor(inputs);
        Tensor.RequireShape("grad_output", gradOutput, inputs["input"].Shape);
        return NamedTensors.Input(Tensor.Create(gradOutput.Shape, i => gradOutput.At(i) * f(i)));
    }

    /// <summary>One product per element: |x|·factor and |dy|·factor.</summary>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput) =>
        new(Magnitudes.Abs(Forward(inputs)), NamedTensors.Input(Magnitudes.Abs(Backward(inputs, gradOutput)["input"])));

    /// <inheritdoc/>
    public bool IsSmooth => true; // linear in the input

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) => JacobianStructure.Diagonal;
}
