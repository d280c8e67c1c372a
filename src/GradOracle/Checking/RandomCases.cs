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
/// <remarks>
/// Draws are stable as the op set grows: case k depends only on (seed, k), and its op is chosen by weighted
/// rendezvous hashing over op names, so adding an op only takes over the cases it wins and leaves every other
/// case as it was.
/// </remarks>
public static class RandomCases
{
    /// <summary><paramref name="count"/> cases from <paramref name="seed"/>.</summary>
    public static IEnumerable<CheckCase> Generate(int seed, int count) => Generate(seed, count, Drawn);

    internal static IEnumerable<CheckCase> Generate(int seed, int count, IReadOnlyList<OpDescriptor> drawn)
    {
        for (int k = 0; k < count; k++)
            yield return One(seed, k, drawn);
    }

    // Case k retries with fresh streams until a draw is valid; each attempt depends only on (seed, k, attempt).
    private static CheckCase One(int seed, int k, IReadOnlyList<OpDescriptor> drawn)
    {
        for (int attempt = 0; ; attempt++)
        {
            ulong caseSeed = Mix((ulong)(uint)seed, (ulong)k, (ulong)attempt);
            var descriptor = Choose(caseSeed, drawn);
            var rng = new Xoshiro256StarStar(unchecked((int)caseSeed ^ (int)(caseSeed >> 32)), threadSafe: false);
            var c = TryOne(descriptor, rng, unchecked((int)(Mix(caseSeed, 1, 0) >> 33)));
            if (c is not null) return c; // otherwise an invalid draw (empty output, ...): draw again
        }
    }

    /// <summary>
    /// The op for one case: each op scores -ln(u)/weight with u uniform from (case seed, op name), the lowest
    /// wins. That is an exact weighted choice, and an op's score does not depend on which other ops exist.
    /// </summary>
    internal static OpDescriptor Choose(ulong caseSeed, IReadOnlyList<OpDescriptor> drawn)
    {
        OpDescriptor? best = null;
        double bestScore = double.PositiveInfinity;
        foreach (var d in drawn)
        {
            ulong h = Mix(caseSeed, Fnv1a.Of(d.Name), 2);
            double u = ((h >> 11) + 0.5) / (1UL << 53); // in (0, 1)
            double score = -Math.Log(u) / d.DrawWeight;
            if (score < bestScore) (best, bestScore) = (d, score);
        }
        return best ?? throw new InvalidOperationException("no op draws random cases");
    }

    private static CheckCase? TryOne(OpDescriptor descriptor, Random rng, int dataSeed)
    {
        try
        {
            var c = descriptor.Draw(new CaseDraw(rng, dataSeed));
            c?.Op.Forward(c.Inputs); // reject configurations the rules refuse
            return c;
        }
        catch (ParameterException)
        {
            return null;
        }
    }

    private static ulong Mix(ulong a, ulong b, ulong c) => SplitMix(SplitMix(SplitMix(a) ^ b) ^ c);

    private static ulong SplitMix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static readonly OpDescriptor[] Drawn = [.. OpFactory.Descriptors.Where(d => d.DrawWeight > 0)];
}
