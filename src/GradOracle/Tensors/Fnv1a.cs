namespace GradOracle.Tensors;

/// <summary>
/// FNV-1a, 64-bit: a fixed hash for seeds and ids that must be the same in every process and on every machine
/// (string.GetHashCode is randomised per process). Each <see cref="Add(ulong)"/> mixes one value: a byte, a char or 64 bits.
/// </summary>
internal struct Fnv1a()
{
    private ulong hash = 14695981039346656037UL;

    /// <summary>The hash so far.</summary>
    public readonly ulong Value => hash;

    /// <summary>Mixes in <paramref name="value"/>.</summary>
    public void Add(ulong value) => hash = (hash ^ value) * 1099511628211UL;

    /// <summary>Mixes in each char of <paramref name="text"/>.</summary>
    public void Add(string text)
    {
        foreach (char c in text) Add(c);
    }

    /// <summary>The hash of <paramref name="text"/>'s chars.</summary>
    public static ulong Of(string text)
    {
        var h = new Fnv1a();
        h.Add(text);
        return h.Value;
    }
}
