namespace GradOracle.Cases;

/// <summary>How closely a tensor must match its expected value.</summary>
/// <param name="Exact">Bit for bit (NaN matches any NaN): selections such as max pooling.</param>
/// <param name="Atol">Absolute tolerance when not exact.</param>
/// <param name="Rtol">Relative tolerance when not exact: |actual - expected| &lt;= atol + rtol·|expected|.</param>
public sealed record CaseTolerance(bool Exact, double Atol, double Rtol)
{
    /// <summary>Bit for bit.</summary>
    public static CaseTolerance ExactMatch { get; } = new(true, 0, 0);

    /// <summary>Whether <paramref name="actual"/> is acceptable for <paramref name="expected"/>.</summary>
    public bool Allows(double expected, double actual)
    {
        if (double.IsNaN(expected) || double.IsNaN(actual)) return double.IsNaN(expected) && double.IsNaN(actual);
        if (Exact) return BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(actual);
        if (double.IsInfinity(expected) || double.IsInfinity(actual)) return expected == actual;
        return Math.Abs(actual - expected) <= Atol + Rtol * Math.Abs(expected);
    }

    /// <inheritdoc/>
    public override string ToString() => Exact ? "exact" : $"atol {Atol:G3}, rtol {Rtol:G3}";
}
