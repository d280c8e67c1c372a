using GradOracle.Checking;
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
}

/// <summary>
/// softmax and log_softmax along one dimension (max-subtracted, so no overflow). Backward: softmax
/// dx = y ⊙ (dy - Σ dy⊙y), the full Jacobian, not only its diagonal; log_softmax dx = dy - softmax ⊙ Σ dy.
/// Each row of the gradient sums to zero along the axis.
/// </summary>
public sealed class Softmax(int dim, bool log = false) : IOp, IHasInvariants, IHasJacobianStructure, IHasMagnitudes
{
    /// <summary>The dimension normalised over (negative counts from the end).</summary>
    public int Dim { get; } = dim;

    /// <summary>log_softmax rather than softmax.</summary>
    public bool Log { get; } = log;

    /// <inheritdoc/>
    public string Name => Log ? "log_softmax" : "softmax";

    /// <inheritdoc/>
    public OpAttributes Attrs => new(("dim", Dim));

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

/// <summary>How a loss reduces over its elements.</summary>
public enum Reduction
{
    /// <summary>The mean over every element (N × spatial).</summary>
    Mean,
    /// <summary>The sum.</summary>
    Sum,
    /// <summary>No reduction: one loss per element.</summary>
    None,
}

/// <summary>
/// cross_entropy over class indices: input (N, C, *) of logits, target (N, *) of class indices in
/// 0..C-1 (given as integral float64 values), loss = logsumexp(x) - x[target]. Reduction mean (the
/// default) divides by the number of elements N × spatial; sum does not; none keeps one loss each.
/// Backward: (softmax - onehot(target)) times the upstream gradient (divided by the count for mean).
/// </summary>
public sealed class CrossEntropy(Reduction reduction = Reduction.Mean) : IOp, IHasInvariants, IHasMagnitudes
{
    /// <summary>The reduction.</summary>
    public Reduction Reduction { get; } = reduction;

    /// <inheritdoc/>
    public string Name => "cross_entropy";

    /// <inheritdoc/>
    public OpAttributes Attrs => new(("reduction", Reduction.ToString().ToLowerInvariant()));

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    private (AxisLayout Classes, int[] Target, Shape OutputShape) Prepare(NamedTensors inputs)
    {
        var x = inputs["input"];
        var t = inputs["target"];
        if (x.Shape.Rank < 2)
            throw new ParameterException("input.shape", x.Shape.ToString(), "cross_entropy takes logits (N, C, *)");
        var targetShape = Shape.Of(new[] { x.Shape[0] }.Concat(x.Shape.Slice(2)).ToArray());
        if (t.Shape != targetShape)
            throw new ParameterException("target.shape", t.Shape.ToString(), $"must be (N, *) = {targetShape} for input {x.Shape}");
        int classes = x.Shape[1];
        var target = new int[t.Count];
        for (int j = 0; j < t.Count; j++)
        {
            double v = t.At(j);
            if (v != Math.Floor(v) || v < 0 || v >= classes)
                throw new ParameterException($"target[{string.Join(", ", t.Shape.Coordinates(j))}]", Tensor.FormatNumber(v),
                    $"a class index must be an integer in 0..{classes - 1} (C = {classes})");
            target[j] = (int)v;
        }
        return (AxisLayout.Of(x.Shape, 1), target, Reduction == Reduction.None ? targetShape : Shape.Of());
    }

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs)
    {
        var x = inputs["input"];
        var (a, target, outShape) = Prepare(inputs);
        var logp = Softmax.Probabilities(x, a, log: true);
        var losses = new double[target.Length];
        for (int o = 0; o < a.Outer; o++)
            for (int i = 0; i < a.Inner; i++)
                losses[o * a.Inner + i] = -logp[a.At(o, target[o * a.Inner + i], i)];
        if (Reduction == Reduction.None) return Tensor.Wrap(outShape, losses);
        double sum = losses.Sum();
        return Tensor.Wrap(outShape, [Reduction == Reduction.Sum ? sum : sum / losses.Length]);
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var x = inputs["input"];
        var (a, target, outShape) = Prepare(inputs);
        Tensor.RequireShape("grad_output", gradOutput, outShape);
        var p = Softmax.Probabilities(x, a, log: false);
        var dx = new double[x.Count];
        for (int o = 0; o < a.Outer; o++)
            for (int i = 0; i < a.Inner; i++)
            {
                int j = o * a.Inner + i;
                double g = Reduction switch
                {
                    Reduction.None => gradOutput.At(j),
                    Reduction.Sum => gradOutput.At(0),
                    _ => gradOutput.At(0) / target.Length,
                };
                for (int k = 0; k < a.Length; k++)
                    dx[a.At(o, k, i)] = g * (p[a.At(o, k, i)] - (k == target[j] ? 1 : 0));
            }
        return NamedTensors.Input(Tensor.Wrap(x.Shape, dx));
    }

    /// <summary>
    /// What each element sums: a loss is log Σ exp(x - max) + max - x[target], with |x[target]| + |max| + |log Σ| + 1 (summed
    /// over the elements a reduction adds); dx = g·(p - onehot) has g·(p·(1 + |x| + |max|) + onehot), g the upstream
    /// gradient per element (divided by the count for mean).
    /// </summary>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput)
    {
        var x = inputs["input"];
        var (a, target, outShape) = Prepare(inputs);
        var p = Softmax.Probabilities(x, a, log: false);
        var losses = new double[target.Length];
        var dx = new double[x.Count];
        for (int o = 0; o < a.Outer; o++)
            for (int i = 0; i < a.Inner; i++)
            {
                int j = o * a.Inner + i;
                double max = double.NegativeInfinity, sum = 0;
                for (int k = 0; k < a.Length; k++) max = Math.Max(max, x.At(a.At(o, k, i)));
                for (int k = 0; k < a.Length; k++) sum += Math.Exp(x.At(a.At(o, k, i)) - max);
                losses[j] = Math.Abs(x.At(a.At(o, target[j], i))) + Math.Abs(max) + Math.Abs(Math.Log(sum)) + 1; // + 1: log Σ's rounding
                double g = Math.Abs(Reduction switch
                {
                    Reduction.None => gradOutput.At(j),
                    Reduction.Sum => gradOutput.At(0),
                    _ => gradOutput.At(0) / target.Length,
                });
                for (int k = 0; k < a.Length; k++)
                {
                    int at = a.At(o, k, i);
                    dx[at] = g * (p[at] * (1 + Math.Abs(x.At(at)) + Math.Abs(max)) + (k == target[j] ? 1 : 0));
                }
            }
        var output = Reduction == Reduction.None ? Tensor.Wrap(outShape, losses)
            : Tensor.Wrap(outShape, [Reduction == Reduction.Sum ? losses.Sum() : losses.Sum() / losses.Length]);
        return new OpResult(output, NamedTensors.Input(Tensor.Wrap(x.Shape, dx)));
    }

    /// <inheritdoc/>
    public InvariantReport CheckInvariants(NamedTensors inputs, Tensor gradOutput, NamedTensors gradients) =>
        LayerInvariants.RowsSumToZero(inputs["input"], AxisLayout.Of(inputs["input"].Shape, 1), gradients["input"], MagnitudesOf(inputs, gradOutput).Grads["input"], "class axis");
}
