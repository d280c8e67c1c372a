namespace GradOracle.Checking;

/// <summary>Float64 rounding allowances, stated once.</summary>
public static class Tolerance
{
    /// <summary>Unit roundoff of float64 (2^-53).</summary>
    public const double UnitRoundoff = 1.1102230246251565e-16;

    /// <summary>
    /// The most two sums of <paramref name="terms"/> float64 values of total magnitude
    /// <paramref name="magnitude"/> (sum of absolute values) can differ by when they add the same numbers in
    /// different orders: each is within (terms-1)·u·magnitude of the exact sum, with a factor 2 for safety.
    /// Zero when the values are exact and few, as dyadic test data is.
    /// </summary>
    public static double SumRounding(int terms, double magnitude) => 4.0 * Math.Max(terms, 1) * UnitRoundoff * magnitude;

    /// <summary>Whether <paramref name="actual"/> is within a few units of roundoff of <paramref name="expected"/>.</summary>
    public static bool WithinUlps(double actual, double expected, int ulps = 4) =>
        actual == expected || Math.Abs(actual - expected) <= ulps * 2 * UnitRoundoff * Math.Max(Math.Abs(actual), Math.Abs(expected));
}
