using System.Globalization;
using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>
/// Where a tensor's differing elements are, in memory that grows with the tensor's dimensions, not its elements: per
/// axis the indices that hold any, said as a slice (<c>grads.input[:, 0-1, :, 32-40]</c>) that contains every one of
/// them; and the worst few by size of difference. Elements are added one at a time, as the comparison streams them.
/// </summary>
internal sealed class DiffMap
{
    private readonly Shape shape;
    private readonly bool[][] hit;
    private readonly PriorityQueue<int, double> worst = new();
    private readonly int keep;

    /// <summary>A map of <paramref name="shape"/> that keeps the <paramref name="keep"/> largest differences.</summary>
    public DiffMap(Shape shape, int keep)
    {
        this.shape = shape;
        this.keep = keep;
        hit = [.. Enumerable.Range(0, shape.Rank).Select(a => new bool[shape[a]])];
    }

    /// <summary>How many elements were added.</summary>
    public int Count { get; private set; }

    /// <summary>Adds the element at flat <paramref name="index"/>, whose difference is <paramref name="size"/> (∞ for a NaN on one side only).</summary>
    public void Add(int index, double size)
    {
        Count++;
        for (int a = shape.Rank - 1, rest = index; a >= 0; a--)
        {
            hit[a][rest % shape[a]] = true;
            rest /= shape[a];
        }
        // A min-queue of the largest so far: the smallest of them leaves when a larger one comes.
        if (worst.Count < keep) worst.Enqueue(index, size);
        else if (worst.TryPeek(out _, out var least) && size > least) worst.EnqueueDequeue(index, size);
    }

    /// <summary>The kept elements, largest difference first.</summary>
    public IReadOnlyList<int> Worst()
    {
        var items = worst.UnorderedItems.OrderByDescending(x => x.Priority).ThenBy(x => x.Element).Select(x => x.Element).ToList();
        return items;
    }

    /// <summary>
    /// The slice holding every differing element, or null when it is the whole tensor (or a scalar): per axis ":" for
    /// every index, else the indices hit as ranges ("32-40", "{0-3, 32}"), at most <paramref name="ranges"/> of them and a count of the rest.
    /// </summary>
    public string? Slice(string name, int ranges = 4)
    {
        if (Count == 0 || shape.Rank == 0 || hit.All(h => h.All(x => x))) return null;
        return $"{name}[{string.Join(", ", hit.Select(h => Axis(h, ranges)))}]";
    }

    private static string Axis(bool[] h, int max)
    {
        if (h.All(x => x)) return ":";
        var runs = new List<(int From, int To)>();
        for (int i = 0; i < h.Length; i++)
            if (h[i])
            {
                int from = i;
                while (i + 1 < h.Length && h[i + 1]) i++;
                runs.Add((from, i));
            }
        static string Run((int From, int To) r) => r.From == r.To ? r.From.ToString(CultureInfo.InvariantCulture) : $"{r.From}-{r.To}";
        if (runs.Count == 1) return Run(runs[0]);
        return "{" + string.Join(", ", runs.Take(max).Select(Run)) + (runs.Count > max ? $", +{runs.Count - max} more ranges" : "") + "}";
    }
}
