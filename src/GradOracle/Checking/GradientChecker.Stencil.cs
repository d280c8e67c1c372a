using GradOracle.Layers;
using System.Runtime.Intrinsics;

namespace GradOracle.Checking;

// The checker's stencil arithmetic: five values along one direction and the slopes they give.
public static partial class GradientChecker
{
    /// <summary>The values along one coordinate direction at offsets -2h..2h, and what they say.</summary>
    internal readonly record struct Stencil5(double Step, double Central, double ErrorEstimate, double Left, double Right,
        double MinSlope, double MaxSlope, bool IsKink);

    /// <summary>
    /// Per element (or per random direction, for the projection screen): the stencil sums over the outputs
    /// it reaches, and what their one-sided slopes say.
    /// </summary>
    internal struct Accumulator
    {
        public double AtMinus2, AtMinus1, AtPlus1, AtPlus2;   // Σ_j dY_j (y_j(t) - y_j(0)) at t = -2, -1, 1, 2
        public double Smooth, Noise;    // Σ central slope over outputs without a jump; rounding
        public double CandMin, CandMax, CandCentral, CandJump; // outputs whose one-sided slopes jump beyond rounding
        public double Scale;            // the largest per-output slope: what a jump is measured against
        public bool Candidates, NonFinite;

        /// <summary>
        /// Adds one output j with values y(-2h), y(-h), y(h), y(2h). A smooth output adds its 5-point derivative to
        /// the acceptable interval, a kinked one (its one-sided slopes jump) the interval between its slopes: a
        /// gradient that picks, per output, any value in that output's interval is valid (max-pool windows choose
        /// independently), so the sum of the intervals bounds the analytic value.
        /// </summary>
        public void Add(double dy, double y0, double m2, double m1, double p1, double p2, double h)
        {
            if (!AddSums(dy, y0, m2, m1, p1, p2, out double va, out double vb, out double vc, out double vd, out double noise)) return;
            // Slopes(v, h) inlined (the hot loop of every check): h is a power of two, so 1/h is exact.
            double inv = 1 / h;
            double right1 = vc * inv, left1 = -vb * inv, right2 = (vd - vc) * inv, left2 = (vb - va) * inv;
            double jump = (right1 - left1) - ((right2 - right1) + (left1 - left2)) / 2;
            double min = Min(Min(right1, left1), Min(right2, left2)), max = Max(Max(right1, left1), Max(right2, left2));
            Scale = Max(Scale, Max(-min, max));
            double central = (S0 * va + S1 * vb + S2 * 0.0 + S3 * vc + S4 * vd) * inv;
            // Branch-free (whether an output jumps is unpredictable): adding 0 leaves a sum unchanged.
            bool candidate = Math.Abs(jump) > 16 * noise * inv;
            Candidates |= candidate;
            CandMin += candidate ? min : 0;
            CandMax += candidate ? max : 0;
            CandCentral += candidate ? central : 0;
            CandJump = Max(CandJump, candidate ? Math.Abs(jump) : 0);
            Smooth += candidate ? 0 : central;
        }

        // Branch-free (Math.Max compiles to vmaxsd and fix-ups): the order of rounding-level slopes is random.
        private static double Max(double x, double y) => Math.Max(x, y);
        private static double Min(double x, double y) => Math.Min(x, y);

        /// <summary>
        /// <see cref="Add"/> for an op differentiable everywhere (<see cref="IHasJacobianStructure.IsSmooth"/>):
        /// the stencil sums and rounding only, no per-output slopes or kink test (batch norm's quadratic number
        /// of output visits made those the cost of its check).
        /// </summary>
        public void AddSmooth(double dy, double y0, double m2, double m1, double p1, double p2) =>
            AddSums(dy, y0, m2, m1, p1, p2, out _, out _, out _, out _, out _);

        /// <summary>
        /// The part every output adds: dY times its four differences to the stencil sums, and their rounding.
        /// False when the output adds nothing more (non-finite at x, unchanged, or turned non-finite).
        /// </summary>
        private bool AddSums(double dy, double y0, double m2, double m1, double p1, double p2,
            out double va, out double vb, out double vc, out double vd, out double noise)
        {
            va = vb = vc = vd = noise = 0;
            if (!double.IsFinite(y0)) return false; // a NaN/inf output carries no derivative information
            double a = m2 - y0, b = m1 - y0, c = p1 - y0, d = p2 - y0;
            if (a == 0 && b == 0 && c == 0 && d == 0) return false;
            if (!double.IsFinite(a + b + c + d) && (!double.IsFinite(a) || !double.IsFinite(b) || !double.IsFinite(c) || !double.IsFinite(d))) { NonFinite = true; return false; }
            va = dy * a; vb = dy * b; vc = dy * c; vd = dy * d;
            AtMinus2 += va; AtMinus1 += vb; AtPlus1 += vc; AtPlus2 += vd;
            // Rounding in each difference: a few ulps of what the output holds, then the product with dY.
            double mag = Math.Abs(dy) * (Max(Max(Math.Abs(m2), Math.Abs(m1)), Max(Math.Abs(p1), Math.Abs(p2))) + Math.Abs(y0));
            noise = 64 * Tolerance.UnitRoundoff * mag;
            Noise += noise;
            return true;
        }

        /// <summary>
        /// The 3-point central difference from sums of the ±h pair alone, added through <see cref="AddSmooth"/> with
        /// that pair standing in for the ±2h one too (AtMinus2 and AtPlus2 then repeat AtMinus1 and AtPlus1 and are not read): the error
        /// estimate is rounding alone, the same rounding model as <see cref="Finish"/>'s.
        /// </summary>
        public readonly Stencil5? FinishNear(double h) => FinishNear(AtMinus1, AtPlus1, Noise, NonFinite, h);

        /// <inheritdoc cref="FinishNear(double)"/>
        public static Stencil5? FinishNear(double d1, double d3, double noise, bool nonFinite, double h)
        {
            if (nonFinite) return null;
            double c1 = (d3 - d1) / (2 * h);
            return new Stencil5(h, c1, 4 * noise / h, -d1 / h, d3 / h, c1, c1, false);
        }

        /// <summary>
        /// <see cref="NearSums"/> for a run of outputs at once, in vectors: each output's terms, or zeros where it adds
        /// nothing (adding +0 leaves a sum's bits unchanged: a sum that starts at +0 is never -0). False when an output
        /// turned non-finite: those the caller takes one by one. <paramref name="vb"/> empty: the -h terms are not wanted
        /// (the one-sided difference, with the unmoved output as <paramref name="m1"/>).
        /// </summary>
        public static bool NearTerms(ReadOnlySpan<double> dy, ReadOnlySpan<double> y0, ReadOnlySpan<double> m1, ReadOnlySpan<double> p1,
            Span<double> vb, Span<double> vc, Span<double> noise)
        {
            int j = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                var bad = Vector512<double>.Zero;
                var scale = Vector512.Create(64 * Tolerance.UnitRoundoff);
                for (; j + Vector512<double>.Count <= y0.Length; j += Vector512<double>.Count)
                {
                    var (d, y, m, p) = (Vector512.Create(dy[j..]), Vector512.Create(y0[j..]), Vector512.Create(m1[j..]), Vector512.Create(p1[j..]));
                    Vector512<double> b = m - y, c = p - y, zero = Vector512<double>.Zero;
                    // x - x is 0 exactly when x is finite (NaN for NaN and infinities).
                    var finiteY = Vector512.Equals(y - y, zero);
                    var moved = ~(Vector512.Equals(b, zero) & Vector512.Equals(c, zero));
                    var finiteBc = Vector512.Equals(b - b, zero) & Vector512.Equals(c - c, zero);
                    var adds = finiteY & moved & finiteBc;
                    bad |= finiteY & moved & ~finiteBc;
                    if (!vb.IsEmpty) Vector512.ConditionalSelect(adds, d * b, zero).CopyTo(vb[j..]);
                    Vector512.ConditionalSelect(adds, d * c, zero).CopyTo(vc[j..]);
                    var n = scale * (Vector512.Abs(d) * (Vector512.Max(Vector512.Abs(m), Vector512.Abs(p)) + Vector512.Abs(y)));
                    Vector512.ConditionalSelect(adds, n, zero).CopyTo(noise[j..]);
                }
                if (bad != Vector512<double>.Zero) return false;
            }
            for (; j < y0.Length; j++)
            {
                if (!NearSums(dy[j], y0[j], m1[j], p1[j], out double b, out vc[j], out noise[j], out bool nonFinite) && nonFinite) return false;
                if (!vb.IsEmpty) vb[j] = b;
            }
            return true;
        }

        /// <summary>
        /// <see cref="NearTerms"/> one output at a time, for a chunk where an output turned non-finite: those are marked in
        /// <paramref name="bad"/>, with zero terms.
        /// </summary>
        public static void NearTermsOneByOne(ReadOnlySpan<double> dy, ReadOnlySpan<double> y0, ReadOnlySpan<double> m1, ReadOnlySpan<double> p1,
            Span<double> vb, Span<double> vc, Span<double> noise, Span<bool> bad)
        {
            for (int j = 0; j < y0.Length; j++)
            {
                NearSums(dy[j], y0[j], m1[j], p1[j], out double b, out vc[j], out noise[j], out bad[j]);
                if (!vb.IsEmpty) vb[j] = b;
            }
        }

        /// <summary>
        /// What <see cref="AddSmooth"/> adds for the ±h pair standing in for the ±2h one (m2 = m1, p2 = p1), bit for bit:
        /// dY times each difference, and the rounding. False when it adds nothing (non-finite at x, unchanged, or turned
        /// non-finite: <paramref name="nonFinite"/>).
        /// </summary>
        public static bool NearSums(double dy, double y0, double m1, double p1, out double vb, out double vc, out double noise, out bool nonFinite)
        {
            vb = vc = noise = 0;
            nonFinite = false;
            if (!double.IsFinite(y0)) return false;
            double b = m1 - y0, c = p1 - y0;
            if (b == 0 && c == 0) return false;
            if (!double.IsFinite(b) || !double.IsFinite(c)) { nonFinite = true; return false; }
            vb = dy * b; vc = dy * c;
            noise = 64 * Tolerance.UnitRoundoff * (Math.Abs(dy) * (Max(Math.Abs(m1), Math.Abs(p1)) + Math.Abs(y0)));
            return true;
        }

        public readonly Stencil5? Finish(double h, bool smooth = false)
        {
            if (NonFinite) return null;
            Span<double> total = [AtMinus2, AtMinus1, 0, AtPlus1, AtPlus2];
            var all = Slopes(total, h);
            double estimate = Math.Abs(all.C1 - all.C2) / 3 + 4 * Noise / h;
            if (smooth) return new Stencil5(h, all.Central, estimate, all.Left, all.Right, all.Central, all.Central, false);
            // A jump below 1e-7 of the element's largest per-output slope is rounding in a reduction the noise
            // model does not see (a batch mean over many values), and too small to matter at any tolerance used.
            bool kink = Candidates && CandJump > 1e-7 * Scale;
            double lo = Smooth + (kink ? CandMin : CandCentral), hi = Smooth + (kink ? CandMax : CandCentral);
            return new Stencil5(h, kink ? all.C1 : all.Central, estimate, all.Left, all.Right, lo, hi, kink);
        }
    }


    /// <summary>What the five values D(-2h..2h) of one scalar function say about its slopes at 0.</summary>
    private static (double Central, double C1, double C2, double Left, double Right, double Min, double Max, double Jump, double Scale) Slopes(ReadOnlySpan<double> d, double h)
    {
        double central = 0;
        for (int k = 0; k < 5; k++) central += Stencil[k] * d[k];
        central /= h;
        double c1 = (d[3] - d[1]) / (2 * h), c2 = (d[4] - d[0]) / (4 * h);
        double right1 = d[3] / h, left1 = -d[1] / h, right2 = (d[4] - d[3]) / h, left2 = (d[1] - d[0]) / h;
        // For smooth g the jump of the one-sided slopes at 0 equals the average of their changes one step
        // out, to O(h^3); a kink anywhere in [-2h, 2h] leaves a jump of the size of the slope change.
        double jump = (right1 - left1) - ((right2 - right1) + (left1 - left2)) / 2;
        double min = Math.Min(Math.Min(right1, left1), Math.Min(right2, left2));
        double max = Math.Max(Math.Max(right1, left1), Math.Max(right2, left2));
        double scale = Math.Max(Math.Abs(min), Math.Abs(max));
        return (central, c1, c2, left1, right1, min, max, jump, scale);
    }
}
