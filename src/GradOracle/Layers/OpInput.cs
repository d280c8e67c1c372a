using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>One input of an op, by its torch.nn.functional name, as requests carry it.</summary>
/// <param name="Name">The name, e.g. <c>weight</c>.</param>
/// <param name="Optional">Whether a request may leave it out (a bias; batch norm's weight, bias and running statistics).</param>
/// <param name="Differentiable">Whether the op's backward returns its gradient (not a class index or a running statistic).</param>
/// <param name="Integral">Whether the op reads it as integers (class indices): binary transfer sends it as int64.</param>
/// <param name="IntegralWhen">
/// For an input that is integral only in some requests (cross_entropy's target holds class indices unless it is shaped
/// like the input): whether these inputs make it so. Null: <paramref name="Integral"/> decides alone.
/// </param>
/// <param name="Fill">
/// How a sweep fills the input from its shape and the other inputs' shapes, for an input whose values have a domain
/// (class indices below the class count). Null: seeded values in [-2, 2) for the op's first input, [-0.5, 0.5) for the others.
/// </param>
public sealed record OpInput(string Name, bool Optional = false, bool Differentiable = true, bool Integral = false,
    Func<NamedTensors, bool>? IntegralWhen = null, Func<Shape, IReadOnlyDictionary<string, Shape>, int, Tensor>? Fill = null)
{
    /// <summary>Class indices 0 .. C-1, C being dimension <paramref name="axis"/> of input <paramref name="of"/>: a loss's target, an embedding's rows.</summary>
    public static Func<Shape, IReadOnlyDictionary<string, Shape>, int, Tensor> IndicesBelow(string of, int axis) => (shape, shapes, seed) =>
    {
        if (!shapes.TryGetValue(of, out var other) || other.Rank <= axis)
            throw new ParameterException($"inputs.{of}.shape", shapes.TryGetValue(of, out var o) ? o.ToString() : "(none)", $"must have a dimension {axis}: it bounds the indices filled in");
        return Samples.Ties(shape, seed, levels: Math.Max(1, other[axis]));
    };

    /// <summary>Whether the op reads this input as integers in a request with these inputs.</summary>
    public bool IsIntegralIn(NamedTensors inputs) => Integral && (IntegralWhen?.Invoke(inputs) ?? true);
}
