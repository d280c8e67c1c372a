using GradOracle.Tensors;
using MathNet.Numerics.Random;

namespace GradOracle.Layers;

/// <summary>Seeded, reproducible input tensors for checks: distinct values, ties, non-negative values, uniforms.</summary>
public static class Samples
{
    /// <summary>Values uniform in [-2, 2): ties have probability zero.</summary>
    public static Tensor Distinct(Shape shape, int seed)
    {
        var rng = new Xoshiro256StarStar(seed, threadSafe: false);
        return Tensor.Create(shape, _ => 4 * rng.NextDouble() - 2);
    }

    /// <summary>Values uniform in [-scale, scale): weights and biases.</summary>
    public static Tensor Scaled(Shape shape, int seed, double scale)
    {
        var rng = new Xoshiro256StarStar(seed, threadSafe: false);
        return Tensor.Create(shape, _ => scale * (2 * rng.NextDouble() - 1));
    }

    /// <summary>Small integers 0 .. levels-1: windows full of exact ties.</summary>
    public static Tensor Ties(Shape shape, int seed, int levels = 3)
    {
        var rng = new Xoshiro256StarStar(seed, threadSafe: false);
        return Tensor.Create(shape, _ => rng.Next(levels));
    }

    /// <summary>Values uniform in [0.05, 1.05): positive, for stochastic pooling.</summary>
    public static Tensor Positive(Shape shape, int seed)
    {
        var rng = new Xoshiro256StarStar(seed, threadSafe: false);
        return Tensor.Create(shape, _ => 0.05 + rng.NextDouble());
    }

    /// <summary>Uniforms in (0, 1] (1 - [0, 1)), one per stochastic-pooling window.</summary>
    public static Tensor Uniforms(Shape shape, int seed)
    {
        var rng = new Xoshiro256StarStar(seed, threadSafe: false);
        return Tensor.Create(shape, _ => 1 - rng.NextDouble());
    }

    /// <summary>A copy of <paramref name="t"/> with the listed flat positions set to <paramref name="value"/>.</summary>
    public static Tensor With(Tensor t, double value, params int[] positions)
    {
        var d = t.ToArray();
        foreach (var p in positions) d[p] = value;
        return Tensor.Wrap(t.Shape, d);
    }
}
