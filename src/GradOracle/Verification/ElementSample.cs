using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>
/// The elements a sampled finite-difference check perturbs, per input: seeded random ones, the first and the last,
/// and every element of the corner blocks (up to 3 along each spatial axis, so a 3-wide window at each corner) of the
/// first and last planes (batch item and channel); for inputs of rank 2 or less, the blocks at the corners of the
/// whole tensor. Edges and corners are where padding, partial tiles and halos are handled, and where kernels break.
/// </summary>
internal sealed class ElementSample
{
    private const int Side = 3;

    private readonly Dictionary<string, HashSet<int>> chosen;
    private readonly int random;

    private ElementSample(Dictionary<string, HashSet<int>> chosen, int random) => (this.chosen, this.random) = (chosen, random);

    /// <summary>The sample of each (name, shape): <paramref name="count"/> random elements from <paramref name="seedOf"/>'s seed, and the corners.</summary>
    public static ElementSample Draw(IEnumerable<(string Name, Shape Shape)> inputs, int count, Func<string, int> seedOf)
    {
        var chosen = new Dictionary<string, HashSet<int>>();
        foreach (var (name, shape) in inputs)
        {
            int n = shape.Count;
            var set = new HashSet<int>();
            if (n > 0)
            {
                set.Add(0);
                set.Add(n - 1);
                foreach (int i in Corners(shape)) set.Add(i);
                var rng = new Random(seedOf(name));
                for (int target = Math.Min(n, set.Count + count); set.Count < target;) set.Add(rng.Next(n));
            }
            chosen[name] = set;
        }
        return new ElementSample(chosen, count);
    }

    /// <summary>Whether element <paramref name="index"/> of input <paramref name="name"/> is in the sample.</summary>
    public bool Contains(string name, int index) => chosen.TryGetValue(name, out var s) && s.Contains(index);

    /// <summary>The sample's elements in all.</summary>
    public int Count => chosen.Values.Sum(s => s.Count);

    /// <summary>What the sample holds, for the report.</summary>
    public string Describe() =>
        $"per input {random} seeded random elements, the first and the last, and the corner blocks (up to {Side} wide) of the first and last planes";

    /// <summary>Flat indices of the corner blocks: of planes (0, 0) and (N-1, C-1) over the spatial axes at rank 3 or more, else of the whole tensor.</summary>
    private static IEnumerable<int> Corners(Shape shape)
    {
        int lead = shape.Rank >= 3 ? 2 : 0, rank = shape.Rank - lead;
        int plane = shape.CountFrom(lead);
        var planes = lead == 0 ? [0] : new[] { 0, shape.Count / plane - 1 }.Distinct().ToArray();
        // Per spatial axis, the indices within Side of either end.
        var near = Enumerable.Range(lead, rank).Select(a => Enumerable.Range(0, shape[a]).Where(i => i < Side || i >= shape[a] - Side).ToArray()).ToArray();
        foreach (int p in planes)
            foreach (var at in Cartesian.Product(near))
            {
                int flat = 0;
                for (int a = 0; a < rank; a++) flat = flat * shape[lead + a] + at[a];
                yield return p * plane + flat;
            }
    }
}
