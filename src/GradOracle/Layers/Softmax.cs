using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>Where one dimension of a tensor sits in row-major data: outer × length × inner.</summary>
internal readonly record struct AxisLayout(int Outer, int Length, int Inner)
{
    /// <summary>The layout of dimension <paramref name="dim"/> (negative counts from the end) of <paramref name="shape"/>.</summary>
    public static AxisLayout Of(Shape shape, int dim, string parameter = "dim")
    {
        int axis = dim < 0 ? dim + shape.Rank : dim;
        if (axis < 0 || axis >= shape.Rank)
            throw new ParameterException(parameter, dim.ToString(), $"must lie in {-shape.Rank}..{shape.Rank - 1} for input of shape {shape}");
        int outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= shape[i];
        for (int i = axis + 1; i < shape.Rank; i++) inner *= shape[i];
        return new AxisLayout(outer, shape[axis], inner);
    }

    /// <summary>Flat index of element <paramref name="k"/> along the axis in line (<paramref name="o"/>, <paramref name="i"/>).</summary>
    public int At(int o, int k, int i) => (o * Length + k) * Inner + i;

    /// <summary>The index along the axis of flat element <paramref name="flat"/>.</summary>
    public int IndexOf(int flat) => flat / Inner % Length;
}

/// <summary>
/// softmax and log_softmax along one dimension (max-subtracted, so no overflow). Backward: softmax
/// dx = y ⊙ (dy - Σ dy⊙y), the full Jacobian, not only its diagonal; log_softmax dx = dy - softmax ⊙ Σ dy.
/// Each row of the gradient sums to zero along the axis.
/// </summary>
public sealed class Softmax(int dim, bool log = false) : IOp, IHasInvariants, IHasJacobianStructure, IHasMagnitudes
{
    /// <summary>softmax along dim.</summary>
    public static OpDescriptor<Softmax> Descriptor { get; } = Described("softmax", log: false);

    /// <summary>log_softmax along dim.</summary>
    public static OpDescriptor<Softmax> LogDescriptor { get; } = Described("log_softmax", log: true);

    private static OpDescriptor<Softmax> Described(string name, bool log) => new()
    {
        Name = name,
        Inputs = [new("input")],
        Attributes = [new("dim", "an integer in -rank..rank-1 (no implicit dimension)")],
        Build = a => new Softmax(a.Int("dim"), log),
        Invariants = [LayerInvariants.RowsSumToZeroName],
        KnownBugs = (s, inputs, dy) => [BugHypothesis.InTensor("grads.input", $"{s.Name} backward uses only the Jacobian's diagonal (misses the -y_i·y_j terms)", () =>
        {
            var y = new Softmax(s.Dim).Forward(inputs);
            return Tensor.Create(dy.Shape, i => s.Log ? dy.At(i) * (1 - y.At(i)) : dy.At(i) * y.At(i) * (1 - y.At(i)));
        })],
        DrawCase = d =>
        {
            var x = Samples.Distinct(d.ChannelsFirst(d.Batch, d.Channels + 1), d.DataSeed);
            return d.Case(new Softmax(d.Int(-x.Shape.Rank, x.Shape.Rank - 1), log), NamedTensors.Input(x));
        },
        DrawWeight = 0.5,
    };

    /// <summary>The dimension normalised over (negative counts from the end).</summary>
    public int Dim { get; } = dim;

    /// <summary>log_softmax rather than softmax.</summary>
    public bool Log { get; } = log;

    /// <inheritdoc/>
    public string Name => Log ? "log_softmax" : "softmax";

    /// <inheritdoc/>
    public OpAttributes Attributes => new(("dim", Dim));

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    /// <summary>softmax of every line along the axis (probabilities), or their logs.</summary>
    internal static double[] Probabilities(Tensor x, AxisLayout a, bool log)
    {
        var p = new double[x.Count];
        for (int o = 0; o < a.Outer; o++)
            for (int i = 0; i < a.Inner; i++)
            {
                double max = double.NegativeInfinity;
                for (int k = 0; k < a.Length; k++) max = Math.Max(max, x.At(a.At(o, k, i)));
                double sum = 0;
                for (int k = 0; k < a.Length; k++) sum += Math.Exp(x.At(a.At(o, k, i)) - max);
                double logSum = Math.Log(sum);
                for (int k = 0; k < a.Length; k++)
                {
                    double z = x.At(a.At(o, k, i)) - max;
                    p[a.At(o, k, i)] = log ? z - logSum : Math.Exp(z) / sum;
                }
            }
        return p;
    }

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs)
    {
        var x = inputs["input"];
        return Tensor.Wrap(x.Shape, Probabilities(x, AxisLayout.Of(x.Shape, Dim), Log));
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var x = inputs["input"];
        Tensor.RequireShape("grad_output", gradOutput, x.Shape);
        var a = AxisLayout.Of(x.Shape, Dim);
        var p = Probabilities(x, a, log: false);
        var dx = new double[x.Count];
        for (int o = 0; o < a.Outer; o++)
            for (int i = 0; i < a.Inner; i++)
            {
                double s = 0;
                for (int k = 0; k < a.Length; k++)
                {
                    int at = a.At(o, k, i);
                    s += Log ? gradOutput.At(at) : gradOutput.At(at) * p[at];
                }
                for (int k = 0; k < a.Length; k++)
                {
                    int at = a.At(o, k, i);
                    dx[at] = Log ? gradOutput.At(at) - p[at] * s : p[at] * (gradOutput.At(at) - s);
                }
            }
        return NamedTensors.Input(Tensor.Wrap(x.Shape, dx));
    }

    /// <summary>
    /// What each element sums. The forward's exponentials carry the rounding of x - max: y·(1 + |x| + |max|) for
    /// softmax, |x| + |max| + |log Σ| + 1 for log_softmax (log Σ's rounding is that of Σ ≥ 1, relative). The backward's dx = y·(dy - Σ y·dy) has y·(|dy| + Σ y·|dy|)
    /// (log_softmax: |dy| + p·Σ|dy|), plus the forward's rounding of y times |dy - Σ y·dy|.
    /// </summary>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput)
    {
        var x = inputs["input"];
        var a = AxisLayout.Of(x.Shape, Dim);
        var p = Probabilities(x, a, log: false);
        var y = new double[x.Count];
        var dx = new double[x.Count];
        for (int o = 0; o < a.Outer; o++)
            for (int i = 0; i < a.Inner; i++)
            {
                double max = double.NegativeInfinity, sum = 0, weighted = 0, plain = 0, dot = 0;
                for (int k = 0; k < a.Length; k++) max = Math.Max(max, x.At(a.At(o, k, i)));
                for (int k = 0; k < a.Length; k++)
                {
                    int at = a.At(o, k, i);
                    sum += Math.Exp(x.At(at) - max);
                    weighted += p[at] * Math.Abs(gradOutput.At(at));
                    plain += Math.Abs(gradOutput.At(at));
                    dot += p[at] * gradOutput.At(at);
                }
                for (int k = 0; k < a.Length; k++)
                {
                    int at = a.At(o, k, i);
                    double spread = 1 + Math.Abs(x.At(at)) + Math.Abs(max); // rounding of the exponent, relative to p
                    // log Σ of a sum of at least 1 carries its rounding whatever the size of log Σ: the 1.
                    y[at] = Log ? Math.Abs(x.At(at)) + Math.Abs(max) + Math.Abs(Math.Log(sum)) + 1 : p[at] * spread;
                    dx[at] = Log
                        ? Math.Abs(gradOutput.At(at)) + p[at] * plain * spread
                        : p[at] * (Math.Abs(gradOutput.At(at)) + weighted) * spread + p[at] * spread * Math.Abs(gradOutput.At(at) - dot);
                }
            }
        return new OpResult(Tensor.Wrap(x.Shape, y), NamedTensors.Input(Tensor.Wrap(x.Shape, dx)));
    }

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape)
    {
        var a = AxisLayout.Of(inputs["input"].Shape, Dim); // an element reaches its line along the axis
        return JacobianStructure.Of(a.Length, e => e / a.Inner % a.Length, (j, k) => a.At(j / (a.Length * a.Inner), k, j % a.Inner));
    }

    /// <inheritdoc/>
    public InvariantReport CheckInvariants(NamedTensors inputs, Tensor gradOutput, NamedTensors gradients) =>
        LayerInvariants.RowsSumToZero(inputs["input"], AxisLayout.Of(inputs["input"].Shape, Dim), gradients["input"], MagnitudesOf(inputs, gradOutput).Grads["input"], "softmax axis");
}

