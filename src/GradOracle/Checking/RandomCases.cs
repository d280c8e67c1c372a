using GradOracle.Layers;
using GradOracle.Tensors;
using MathNet.Numerics.Random;

namespace GradOracle.Checking;

/// <summary>
/// Seeded random configurations of every op whose descriptor draws them (those whose rules libtorch shares:
/// max pooling with the first-tie rule, not stochastic pooling), each op as its descriptor draws it.
/// The same seed gives the same cases on every machine. Inputs are sometimes full of ties, NaN or -0.0,
/// and pooling padding stays within kernel_size/2 (the limit every PyTorch version accepts).
/// </summary>
public static class RandomCases
{
    /// <summary><paramref name="count"/> cases from <paramref name="seed"/>.</summary>
    public static IEnumerable<CheckCase> Generate(int seed, int count)
    {
        var rng = new Xoshiro256StarStar(seed, threadSafe: false);
        for (int made = 0; made < count;)
        {
            var c = TryOne(rng, seed * 100_003 + made);
            if (c is null) continue; // an invalid draw (empty output, ...): draw again
            made++;
            yield return c;
        }
    }

    private static CheckCase? TryOne(Random rng, int dataSeed)
    {
        try
        {
            var c = Draw(rng, dataSeed);
            c?.Op.Forward(c.Inputs); // reject configurations the rules refuse
            return c;
        }
        catch (ParameterException)
        {
            return null;
        }
    }

    // Each op draws with its descriptor's weight; the common dimensions come first, then the op's own choices.
    private static CheckCase? Draw(Random rng, int dataSeed)
    {
        double pick = rng.NextDouble() * TotalWeight;
        var descriptor = Drawn.First(d => (pick -= d.DrawWeight) < 0 || d == Drawn[^1]);
        return descriptor.Draw(new CaseDraw(rng, dataSeed));
    }

    private static readonly OpDescriptor[] Drawn = [.. OpFactory.Descriptors.Where(d => d.DrawWeight > 0)];

    private static readonly double TotalWeight = Drawn.Sum(d => d.DrawWeight);
}
