using GradOracle.Layers;
using GradOracle.Tensors;
using MathNet.Numerics.Random;

namespace GradOracle.Checking;

/// <summary>
/// Cases at the sizes where kernels break: one dimension at a time set around a power of two or a tile width (a
/// blocked loop's last partial block, a grid-stride loop's tail, a vector's remainder), the others small as the random
/// cases draw them. Per op that draws random cases (and per spatial rank for ops with one): every spatial dimension
/// through <see cref="SpatialSizes"/>, the channel count through <see cref="ChannelCounts"/> (ops that size their own
/// channels take it for input and output channels), the batch through <see cref="BatchSizes"/>. A draw the op refuses
/// at a size (a kernel wider than a dimension of 1) is drawn again; an op that never takes the size makes no case.
/// </summary>
/// <remarks>
/// Case (op, rank, axis, size) depends only on the seed and those four, so a failing one reproduces alone and adding
/// an op or a size leaves every other case as it was.
/// </remarks>
public static class EdgeCases
{
    /// <summary>Spatial sizes: around 8, 16, 32, 64, 128 and 256, and the smallest.</summary>
    public static IReadOnlyList<int> SpatialSizes { get; } = [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257];

    /// <summary>Channel counts around the vector widths of float64 and float32 lanes (4, 8, 16) and warp-sized tiles (32, 64).</summary>
    public static IReadOnlyList<int> ChannelCounts { get; } = [1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65];

    /// <summary>Batch sizes: one, and odd counts that no even split divides.</summary>
    public static IReadOnlyList<int> BatchSizes { get; } = [1, 3, 5, 7, 17, 33];

    /// <summary>Attempts at a draw the op accepts before an (op, axis, size) makes no case.</summary>
    private const int Attempts = 16;

    /// <summary>The edge cases of <paramref name="seed"/>, in a fixed order (op, rank, axis, size).</summary>
    public static IEnumerable<EdgeCase> Generate(int seed)
    {
        foreach (var descriptor in OpFactory.Descriptors.Where(d => d.DrawWeight > 0))
            foreach (int rank in descriptor.Name.Contains("{r}") ? new[] { 1, 2, 3 } : [2])
                foreach (var (axis, sizes) in Axes(rank))
                    foreach (int size in sizes)
                        if (Draw(seed, descriptor, rank, axis, size) is { } c)
                            yield return c;
    }

    /// <summary>The axes an edge sweep varies at a spatial rank, each with its sizes: N, C and the spatial ones (L; H, W; D, H, W).</summary>
    public static IEnumerable<(string Axis, IReadOnlyList<int> Sizes)> Axes(int rank)
    {
        yield return ("N", BatchSizes);
        yield return ("C", ChannelCounts);
        foreach (var name in SpatialNames(rank)) yield return (name, SpatialSizes);
    }

    /// <summary>The spatial dimensions' names at a rank, as PyTorch's documentation writes them.</summary>
    public static string[] SpatialNames(int rank) => rank switch { 1 => ["L"], 2 => ["H", "W"], _ => ["D", "H", "W"] };

    private static EdgeCase? Draw(int seed, OpDescriptor descriptor, int rank, string axis, int size)
    {
        var names = SpatialNames(rank);
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            ulong caseSeed = Mix(Mix(Mix((ulong)(uint)seed, Fnv1a.Of(descriptor.Name)), Fnv1a.Of($"{rank}/{axis}={size}")), (ulong)attempt);
            var rng = new Xoshiro256StarStar(unchecked((int)caseSeed ^ (int)(caseSeed >> 32)), threadSafe: false);
            int dataSeed = unchecked((int)(Mix(caseSeed, 1) >> 33));
            int[]? spatial = null;
            if (Array.IndexOf(names, axis) is var at and >= 0)
            {
                spatial = Enumerable.Range(0, rank).Select(_ => rng.Next(2, (rank == 3 ? 5 : 7) + 1)).ToArray();
                spatial[at] = size;
            }
            var draw = new CaseDraw(rng, dataSeed, rank, axis == "N" ? size : null, axis == "C" ? size : null, spatial);
            try
            {
                var c = descriptor.Draw(draw);
                if (c is null) return null;
                // An op that draws its own shape there (a loss's class count) did not take the size: that draw is no edge case.
                if (!c.Inputs.Items.Any(t => t.Value.Shape.Slice(0).Contains(size))) continue;
                c.Op.Forward(c.Inputs); // reject configurations the rules refuse
                return new EdgeCase(seed, c.Op.Name, axis, size, c);
            }
            catch (ParameterException) { }
        }
        return null;
    }

    private static ulong Mix(ulong a, ulong b)
    {
        ulong z = a ^ (b + 0x9E3779B97F4A7C15UL + (a << 6) + (a >> 2));
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
