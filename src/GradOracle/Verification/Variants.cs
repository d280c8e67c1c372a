using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>What the diagnosis needs besides the ops' own bugs: a loose comparison and channels-last layouts.</summary>
internal static class Variants
{
    /// <summary>Whether two tensors agree to the precision of <paramref name="dtype"/> (loosely: a hypothesis test, not a verdict).</summary>
    public static bool Same(Tensor? a, Tensor? b, string dtype)
    {
        if (a is null || b is null || a.Shape != b.Shape) return false;
        double scale = Tolerance.MaxAbs(a);
        double tol = dtype == "float64" ? 1e-9 : 64 * DtypeTolerance.UnitRoundoff(dtype);
        for (int i = 0; i < a.Count; i++)
        {
            double x = a.At(i), y = b.At(i);
            if (double.IsNaN(x) || double.IsNaN(y)) { if (double.IsNaN(x) != double.IsNaN(y)) return false; continue; }
            if (double.IsInfinity(x) || double.IsInfinity(y)) { if (x != y) return false; continue; }
            if (Math.Abs(x - y) > tol * (Math.Abs(x) + scale)) return false;
        }
        return true;
    }

    /// <summary>A channels-first tensor's data read as channels-last with the same dimensions' roles: (N, C, *S) data taken as (N, *S, C).</summary>
    public static Tensor ReadAsChannelsLast(Tensor t)
    {
        var s = t.Shape;
        int n = s[0], c = s[1], spatial = s.CountFrom(2);
        return Tensor.Create(s, i =>
        {
            int b = i / (c * spatial), ch = i / spatial % c, sp = i % spatial;
            return t.At(b * c * spatial + sp * c + ch);
        });
    }

    /// <summary>The inverse: a channels-first tensor written out channels-last.</summary>
    public static Tensor WriteAsChannelsLast(Tensor t)
    {
        var s = t.Shape;
        int c = s[1], spatial = s.CountFrom(2);
        var d = new double[t.Count];
        for (int i = 0; i < t.Count; i++)
        {
            int b = i / (c * spatial), ch = i / spatial % c, sp = i % spatial;
            d[b * c * spatial + sp * c + ch] = t.At(i);
        }
        return Tensor.FromArray(s, d);
    }
}
