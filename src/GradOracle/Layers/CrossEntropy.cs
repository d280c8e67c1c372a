using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// cross_entropy over class indices: input (N, C, *) of logits, target (N, *) of class indices in
/// 0..C-1 (given as integral float64 values), loss = logsumexp(x) - x[target]. Reduction mean (the
/// default) divides by the number of elements N × spatial; sum does not; none keeps one loss each.
/// Backward: (softmax - onehot(target)) times the upstream gradient (divided by the count for mean).
/// </summary>
public sealed class CrossEntropy(Reduction reduction = Reduction.Mean) : IOp, IHasInvariants, IHasMagnitudes
{
    /// <summary>cross_entropy over class indices.</summary>
    public static OpDescriptor<CrossEntropy> Descriptor { get; } = new()
    {
        Name = "cross_entropy",
        Inputs = [new("input"), new("target", Differentiable: false, Integral: true)],
        Attributes = [new("reduction", "one of mean, sum, none", "'mean'")],
        Build = a => new CrossEntropy(a.Enum("reduction", Reduction.Mean)),
        Invariants = [LayerInvariants.RowsSumToZeroName],
        DrawCase = d =>
        {
            int classes = d.Int(2, 5), n = d.Int(1, 4);
            var spatial = d.OneIn(2) ? [] : d.Ints(d.Int(1, 2), 1, 3);
            var x = Samples.Distinct(Shape.Of([n, classes, .. spatial]), d.DataSeed);
            var target = Tensor.Create(Shape.Of([n, .. spatial]), _ => d.Rng.Next(classes));
            var reduction = (Reduction)d.Rng.Next(3);
            return d.Case(new CrossEntropy(reduction), new NamedTensors(("input", x), ("target", target)), reduction.ToString().ToLowerInvariant());
        },
    };

    /// <summary>The reduction.</summary>
    public Reduction Reduction { get; } = reduction;

    /// <inheritdoc/>
    public string Name => "cross_entropy";

    /// <inheritdoc/>
    public OpAttributes Attributes => new(("reduction", Reduction.ToString().ToLowerInvariant()));

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
