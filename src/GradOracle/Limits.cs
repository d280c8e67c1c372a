namespace GradOracle;

/// <summary>
/// How much one message, tensor or op may ask of the oracle, checked before anything is allocated. The
/// process holds one set (<see cref="Current"/>), set once from the command line (--max-elements,
/// --max-line-mb); docs/reliability.md lists them.
/// </summary>
public sealed record Limits
{
    /// <summary>Elements of one tensor, of an op's output or window, and of all tensors in one message together: 2^21 (16 MiB of float64).</summary>
    public long MaxElements { get; init; } = 1L << 21;

    /// <summary>Characters of one protocol line: 64 Mi, room for MaxElements numbers written at full precision (up to 24 characters each with the comma).</summary>
    public int MaxLineChars { get; init; } = 64 << 20;

    /// <summary>The defaults.</summary>
    public static Limits Default { get; } = new();

    private static Limits current = Default;

    /// <summary>The limits in force in this process.</summary>
    public static Limits Current { get => Volatile.Read(ref current); set => Volatile.Write(ref current, value ?? Default); }

    /// <summary>The refusal when <paramref name="count"/> elements of <paramref name="what"/> pass <see cref="MaxElements"/>.</summary>
    public static void CheckElements(string parameter, string value, long count, string what)
    {
        var limit = Current.MaxElements;
        if (count > limit || count < 0)
            throw new ParameterException(parameter, value,
                $"{what} would hold {(count < 0 ? "more than 2^63" : count.ToString("N0"))} elements, more than the limit of {limit:N0} (--max-elements raises it)");
    }

    /// <summary>The product of <paramref name="factors"/>, saturating at long.MaxValue instead of overflowing.</summary>
    public static long Product(IEnumerable<long> factors)
    {
        long p = 1;
        foreach (var f in factors)
        {
            if (f == 0) return 0;
            p = p > long.MaxValue / f ? long.MaxValue : p * f;
        }
        return p;
    }
}
