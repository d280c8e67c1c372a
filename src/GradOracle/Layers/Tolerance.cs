using GradOracle.Tensors;

namespace GradOracle.Layers;

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

    /// <summary>The largest |value| over the finite elements (0 when there is none): the scale a tolerance is measured against.</summary>
    public static double MaxAbs(Tensor t)
    {
        double m = 0;
        foreach (var v in t.Span) if (double.IsFinite(v)) m = Math.Max(m, Math.Abs(v));
        return m;
    }

    /// <summary>
    /// The largest gradient element over all of a case's gradients: a gradient that cancels to almost nothing
    /// (batch norm with two values per channel, a bias feeding batch norm) is measured against it, because its
    /// rounding is the size of the terms that cancelled, not of the remainder.
    /// </summary>
    public static double GradientScale(NamedTensors grads) => grads.Items.Select(g => MaxAbs(g.Value)).DefaultIfEmpty(0).Max();

    /// <summary>
    /// Whether the op's descriptor says its outputs and gradients are selections or exact products with 0 and 1: compared
    /// bit for bit by the reference cases and libtorch parity, and by verify where the op states no magnitudes (max
    /// pooling does: its gradients sum several windows' shares, which an implementation may add in another order).
    /// </summary>
    public static bool ComparesExactly(IOp op) => op.Descriptor.ComparesExactly(op);

    /// <summary>Whether <paramref name="actual"/> is within a few units of roundoff of <paramref name="expected"/>.</summary>
    public static bool WithinUlps(double actual, double expected, int ulps = 4) =>
        actual == expected || Math.Abs(actual - expected) <= ulps * 2 * UnitRoundoff * Math.Max(Math.Abs(actual), Math.Abs(expected));
}
