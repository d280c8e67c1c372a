using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// How a loss computed per element reduces (mse_loss, binary_cross_entropy, kl_div, ...): the mean over every element,
/// the sum, none, or kl_div's batchmean (the sum over the batch size). Forward sums in index order, then divides;
/// backward hands each element the upstream gradient divided the same way.
/// </summary>
internal readonly record struct PointwiseReduction(Reduction Reduction, bool PerBatch = false)
{
    /// <summary>The attribute's value: mean, sum, none or batchmean.</summary>
    public string Text => PerBatch ? "batchmean" : Reduction.ToString().ToLowerInvariant();

    /// <summary>The loss's shape for an input of <paramref name="input"/>: the input's for none, a scalar otherwise.</summary>
    public Shape OutputShape(Shape input) => Reduction == Reduction.None ? input : Shape.Of();

    private int Divisor(Shape input) => Reduction == Reduction.Sum ? 1 : PerBatch ? (input.Rank == 0 ? 1 : input[0]) : input.Count;

    /// <summary>The per-element losses, reduced.</summary>
    public Tensor Reduce(Shape input, Func<int, double> loss)
    {
        if (Reduction == Reduction.None) return Tensor.Create(input, loss);
        double sum = 0;
        for (int i = 0; i < input.Count; i++) sum += loss(i);
        return Tensor.Wrap(Shape.Of(), [Reduction == Reduction.Sum ? sum : sum / Divisor(input)]);
    }

    /// <summary>The upstream gradient element <paramref name="i"/> receives.</summary>
    public double Upstream(Tensor gradOutput, int i, Shape input) => Reduction switch
    {
        Reduction.None => gradOutput.At(i),
        Reduction.Sum => gradOutput.At(0),
        _ => gradOutput.At(0) / Divisor(input),
    };

    /// <summary>The target (or another per-element operand) must have the input's shape: a loss's broadcast is refused.</summary>
    public static void RequireSameShape(string name, Tensor t, Tensor x)
    {
        if (t.Shape != x.Shape)
            throw new ParameterException($"{name}.shape", t.Shape.ToString(), $"must equal input's shape {x.Shape} (broadcasting a loss's {name} is refused)");
    }

    /// <summary>Each input element's factor from the optional weight <paramref name="name"/>, broadcast from the right (1 when absent).</summary>
    public static Func<int, double> Weight(NamedTensors inputs, string name, Shape input)
    {
        if (!inputs.Contains(name)) return _ => 1;
        var w = inputs[name];
        var at = Broadcast(name, w.Shape, input);
        return i => w.At(at(i));
    }

    /// <summary>
    /// For a weight broadcast against the input from the right (PyTorch's rule: each of its dimensions equals the input's
    /// or is 1): the weight's element for each input element. Refused by name when it does not broadcast.
    /// </summary>
    public static Func<int, int> Broadcast(string name, Shape weight, Shape input)
    {
        int offset = input.Rank - weight.Rank;
        if (offset < 0 || Enumerable.Range(0, weight.Rank).Any(d => weight[d] != 1 && weight[d] != input[d + offset]))
            throw new ParameterException($"{name}.shape", weight.ToString(), $"must broadcast to the input's {input} (each dimension, aligned from the right, equal or 1)");
        return i =>
        {
            int at = 0;
            for (int d = weight.Rank - 1, stride = 1; d >= 0; d--)
            {
                int coordinate = i / input.Strides[d + offset] % input[d + offset];
                at += (weight[d] == 1 ? 0 : coordinate) * stride;
                stride *= weight[d];
            }
            return at;
        };
    }
}
