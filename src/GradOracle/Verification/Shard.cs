using System.Globalization;

namespace GradOracle.Verification;

/// <summary>One part of a run split over several jobs: shard <see cref="Index"/> of <see cref="Count"/> (1-based).</summary>
public sealed record Shard
{
    /// <summary>The whole run in one shard.</summary>
    public static readonly Shard Whole = new(1, 1);

    /// <summary>A shard; <paramref name="index"/> must lie in 1..<paramref name="count"/>.</summary>
    public Shard(int index, int count)
    {
        if (count < 1 || index < 1 || index > count)
            throw new ParameterException("--shard", $"{index}/{count}", "must be i/n with 1 <= i <= n");
        (Index, Count) = (index, count);
    }

    /// <summary>1-based index of this shard.</summary>
    public int Index { get; }
    /// <summary>How many shards the run is split into.</summary>
    public int Count { get; }

    /// <summary>Parses "i/n" (as --shard takes it).</summary>
    public static Shard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int i)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n))
            throw new ParameterException("--shard", text, "must be i/n with 1 <= i <= n");
        return new Shard(i, n);
    }

    /// <summary>Whether the k-th item of the run (0-based) belongs to this shard: item k runs in shard (k mod n) + 1.</summary>
    public bool Holds(int k) => k % Count == Index - 1;

    /// <inheritdoc/>
    public override string ToString() => $"{Index}/{Count}";
}
