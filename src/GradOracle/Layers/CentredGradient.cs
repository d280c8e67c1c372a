using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// The invariants of a gradient through a mean-and-variance normalisation, over one set of M elements normalised
/// together (a batch-norm channel, a layer-norm block): Σ dx = 0 and Σ dx·x̂ = k/M·(M - Σx̂²)·Σ(dx̂·x̂), dx̂ = dy·γ.
/// The second is 0 only when eps = 0. Both sums cancel, so their allowances come from what dx's elements sum
/// (the op's magnitudes) and from x̂'s rounding, A = |x̂| + k·(|x| + |μ|), never from dx.
/// </summary>
internal static class CentredGradient
{
    /// <summary>Checks both invariants over <paramref name="elements"/>, one set of <paramref name="m"/> with mean <paramref name="mean"/> and k = 1/sqrt(var + eps).</summary>
    public static void Check(InvariantReport.Builder r, string sumName, string dotName, string where, IEnumerable<int> elements, int m,
        double mean, double k, Tensor x, Func<int, double> xHat, Func<int, double> gamma, Tensor gradOutput, Tensor dx, Tensor magnitude)
    {
        double s = 0, sm = 0, p = 0, pm = 0, xx = 0, q = 0, qm = 0;
        foreach (var e in elements)
        {
            double h = xHat(e), big = Math.Abs(h) + k * (Math.Abs(x.At(e)) + Math.Abs(mean)), g = gradOutput.At(e) * gamma(e);
            s += dx.At(e); sm += magnitude.At(e) + Math.Abs(dx.At(e));
            p += dx.At(e) * h; pm += (magnitude.At(e) + Math.Abs(dx.At(e))) * big;
            xx += h * h;
            q += g * h; qm += Math.Abs(g) * big;
        }
        double expected = k / m * (m - xx) * q;
        double allowSum = 16 * Tolerance.SumRounding(m, sm), allowDot = 16 * Tolerance.SumRounding(m, pm + k * qm * (1 + xx / m));
        if (!double.IsFinite(s) || Math.Abs(s) > allowSum)
            r.Violated(sumName, $"{where}: sum(dx) = {Tensor.FormatNumber(s)}, where rounding allows {Tensor.FormatNumber(allowSum)} (dx's elements sum {Tensor.FormatNumber(sm)} in magnitude)");
        else r.Checked(sumName);
        if (!double.IsFinite(p) || Math.Abs(p - expected) > allowDot)
            r.Violated(dotName, $"{where}: sum(dx·x̂) = {Tensor.FormatNumber(p)} where {Tensor.FormatNumber(expected)} was expected, and rounding allows {Tensor.FormatNumber(allowDot)}");
        else r.Checked(dotName);
    }
}
