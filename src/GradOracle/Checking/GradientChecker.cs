using System.Runtime.Intrinsics;
using GradOracle.Layers;
using GradOracle.Tensors;
using MathNet.Numerics.Differentiation;

namespace GradOracle.Checking;

/// <summary>
/// Checks an op's analytic backward against central finite differences of <c>&lt;dY, f(x)&gt;</c>, element
/// by element, in float64. Smooth elements use the 5-point central stencil (Richardson's extrapolation of
/// steps h and 2h) with an error estimate from the two; elements where the left and right one-sided
/// slopes disagree beyond what curvature and rounding explain are kinks (a max-pool tie, ReLU at 0), where
/// the analytic value must lie between the slopes and, when declared, equal the declared rule's value.
/// </summary>
public static class GradientChecker
{
    // 5-point first-derivative stencil at offsets -2..2 (MathNet), equal to Richardson on h and 2h.
    private static readonly double[] Stencil = new FiniteDifferenceCoefficients(5).GetCoefficients(2, 1);
    private static readonly double S0 = Stencil[0], S1 = Stencil[1], S2 = Stencil[2], S3 = Stencil[3], S4 = Stencil[4];

    /// <summary>
    /// Random upstream gradient: dyadic values ±k/32 (k = 1..64), never 0, so that a dropped
    /// contribution always shows and sums of them are exact.
    /// </summary>
    public static Tensor RandomGradOutput(Shape shape, int seed)
    {
        var rng = new MathNet.Numerics.Random.Xoshiro256StarStar(seed, threadSafe: false);
        return Tensor.Create(shape, _ => (rng.Next(2) == 0 ? -1 : 1) * (1 + rng.Next(64)) / 32.0);
    }

    /// <summary>Checks <paramref name="op"/>'s backward at <paramref name="inputs"/> with upstream gradient <paramref name="gradOutput"/>.</summary>
    public static GradCheckResult Check(IOp op, NamedTensors inputs, Tensor gradOutput, GradCheckOptions? options = null)
    {
        options ??= new GradCheckOptions();
        Tensor baseOutput;
        NamedTensors analytic;
        NamedTensors? declared = null;
        int excluded = 0;
        try
        {
            baseOutput = op.Forward(inputs);
            Tensor.RequireShape("grad_output", gradOutput, baseOutput.Shape);
            // Finite differences see no change in an output that is NaN or infinite, so the backward is
            // asked only for the part they can check: the vector-Jacobian product is linear in dY, and
            // zeroing dY at those outputs removes exactly their contributions.
            var y0 = baseOutput.Span;
            for (int j = 0; j < y0.Length; j++) if (!double.IsFinite(y0[j])) excluded++;
            if (excluded > 0)
            {
                var output = baseOutput;
                gradOutput = Tensor.Create(gradOutput.Shape, j => double.IsFinite(output.At(j)) ? gradOutput.At(j) : 0);
            }
            analytic = op.Backward(inputs, gradOutput);
            if (options.Declared is { } d) declared = d.Backward(inputs, gradOutput);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new GradCheckResult(op.Name, op.Attributes, [], $"{e.GetType().Name}: {e.Message}");
        }

        var elements = new List<ElementColumns>();
        foreach (var name in op.DifferentiableInputs)
        {
            var x = inputs[name];
            if (!analytic.Contains(name))
                return new GradCheckResult(op.Name, op.Attributes, elements.SelectMany(c => c.All()), $"backward returned no gradient for '{name}'");
            var a = analytic[name];
            if (a.Shape != x.Shape)
                return new GradCheckResult(op.Name, op.Attributes, elements.SelectMany(c => c.All()), $"gradient for '{name}' has shape {a.Shape}, the input {x.Shape}");
            var probe = new Probe(op, inputs, name, gradOutput, baseOutput);
            var structure = options.Compress ? (op as IHasJacobianStructure)?.StructureOf(name, inputs, baseOutput.Shape) : null;
            var selected = options.Elements is { } only ? Enumerable.Range(0, x.Count).Where(i => only(name, i)).ToArray() : null;
            int[]? position = null; // an element's place among the selected (null: its index)
            if (selected is not null)
            {
                position = new int[x.Count];
                for (int k = 0; k < selected.Length; k++) position[selected[k]] = k;
            }
            var dn = declared?[name];
            var checks = new ElementColumns(name, x.Shape, a, dn, selected, (an, num, est) => Allowed(options, an, num, est), intervals: !probe.Smooth);
            void Judge(int i, Stencil5? st) => checks.Store(position?[i] ?? i, CheckElement(probe, i, a.At(i), dn?.At(i), options, st));
            Func<int, Stencil5, bool>? accept = options.ThreePointFirst ? (i, st) => PassesOnThreePoints(a.At(i), st, options) : null;
            bool oneSided = accept is not null && options.OneSidedWhenAffine && op is IHasJacobianStructure declares && declares.IsAffineIn(name)
                && probe.Smooth && (structure ?? declares.StructureOf(name, inputs, baseOutput.Shape)) is { } sampling
                && probe.AffineOnSample(sampling, compressed: structure is not null, i => StepAt(x.At(i), options, 0), selected, options.Parallel);
            if (structure is null)
                Loop(checks.Count, options.Parallel, k =>
                {
                    int i = selected?[k] ?? k;
                    Judge(i, double.IsFinite(x.At(i)) ? EvaluateAlone(probe, i, options, accept, oneSided) : null);
                });
            else
            {
                for (int k = 0; k < checks.Count; k++)
                {
                    int i = selected?[k] ?? k;
                    if (!double.IsFinite(x.At(i))) Judge(i, null); // moved by no colour
                }
                // Each element is judged as soon as its colour's pass is done (no per-element state outlives a colour),
                // except kinks: those are refined together, compressed as level 0 was, each level with a step 16 times
                // smaller, until they resolve or the refinements run out. The numbers are those of refining each alone.
                var kinks = new List<int>();
                void Finished(int i, Stencil5? st, int level, List<int> next)
                {
                    if (st is { IsKink: true } && level < options.Refinements) lock (next) next.Add(i);
                    else Judge(i, st);
                }
                probe.EvaluateColoured(structure, i => StepAt(x.At(i), options, 0), options.Parallel, selected, accept, (i, st) => Finished(i, st, 0, kinks), oneSided);
                for (int level = 1; kinks.Count > 0; level++)
                {
                    var these = kinks.Order().ToArray();
                    var next = new List<int>();
                    probe.EvaluateColoured(structure, i => StepAt(x.At(i), options, level), options.Parallel, these, null,
                        (i, st) => Finished(i, st, level, next));
                    kinks = next;
                }
            }
            elements.Add(checks);
        }
        return new GradCheckResult(op.Name, op.Attributes, elements) { ExcludedOutputs = excluded };
    }

    /// <summary>Convenience: a seeded random upstream gradient of the op's output shape.</summary>
    public static GradCheckResult Check(IOp op, NamedTensors inputs, int seed = 1, GradCheckOptions? options = null) =>
        Check(op, inputs, RandomGradOutput(op.Forward(inputs).Shape, seed), options);

    private static void Loop(int count, bool parallel, Action<int> body)
    {
        // One worker per core: each keeps its own buffers (a copy of the input, passes in flight), and the thread
        // pool would otherwise add workers to a long loop, each with its buffers.
        if (parallel && count > 1) Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, body);
        else for (int i = 0; i < count; i++) body(i);
    }

    /// <summary>What a smooth element's |analytic - numeric| may be: the tolerances, and twice the error estimate.</summary>
    private static double Allowed(GradCheckOptions o, double analytic, double numeric, double estimate) =>
        o.AbsoluteTolerance + o.RelativeTolerance * Math.Max(Math.Abs(analytic), Math.Abs(numeric)) + 2 * estimate;

    /// <summary>
    /// The 3-point acceptance of <see cref="GradCheckOptions.ThreePointFirst"/>: relative to |analytic| only, so
    /// that a pass here is a pass on 5 points whatever the 5-point value turns out to be.
    /// </summary>
    private static bool PassesOnThreePoints(double analytic, Stencil5 st, GradCheckOptions o) =>
        Math.Abs(analytic - st.Central) <= o.AbsoluteTolerance + o.RelativeTolerance * Math.Abs(analytic) + 2 * st.ErrorEstimate;

    /// <summary>The step for an element at <paramref name="x"/>: the power of two nearest <c>Step * max(1, |x|)</c>; the projection screen moves by the same.</summary>
    internal static double FirstStep(double x, GradCheckOptions o) => PowerOfTwoNear(o.Step * Math.Max(1, Math.Abs(x)));

    /// <summary>The step at refinement level <paramref name="level"/>: the first step cut by 16 per level (alone or compressed, the same).</summary>
    private static double StepAt(double x, GradCheckOptions o, int level) => Math.ScaleB(FirstStep(x, o), -4 * level); // exactly / 16^level

    /// <summary>
    /// One element moved alone, at steps h, h/16, ... while it shows a kink (to tell a near-kink inside the stencil
    /// from a kink at x). Null when an output turns non-finite.
    /// </summary>
    private static Stencil5? EvaluateAlone(Probe probe, int i, GradCheckOptions o, Func<int, Stencil5, bool>? accept, bool oneSided)
    {
        Stencil5? s = null;
        for (int level = 0; level <= o.Refinements; level++)
        {
            s = probe.Evaluate(i, StepAt(probe.Input.At(i), o, level), accept is null ? null : st => accept(i, st), oneSided);
            if (s is not { IsKink: true }) break;
        }
        return s;
    }

    /// <summary>Judges element <paramref name="i"/> on its (refined) stencil <paramref name="s"/>: null when an output turned non-finite.</summary>
    private static ElementCheck CheckElement(Probe probe, int i, double analytic, double? declared, GradCheckOptions o, Stencil5? s)
    {
        double x = probe.Input.At(i);
        ElementCheck Make(double numeric, double est, double allowed, bool kink, Stencil5? st, ElementVerdict v, string? note) =>
            new(probe.Name, i, probe.Input.Shape, analytic, numeric, est, allowed, kink, st?.Left ?? double.NaN, st?.Right ?? double.NaN,
                st?.MinSlope ?? double.NaN, st?.MaxSlope ?? double.NaN, declared, v, note);

        if (!double.IsFinite(x))
            return Make(double.NaN, double.NaN, double.NaN, false, null, ElementVerdict.Skipped, $"input is {x}: not differentiable by finite differences");

        if (s is not { } st)
            return Make(double.NaN, double.NaN, double.NaN, false, null, ElementVerdict.Skipped, "an output turns non-finite when this input moves");
        double h0 = FirstStep(x, o);
        if (double.IsNaN(analytic) && st.Central == 0 && !st.IsKink)
            return Make(st.Central, st.ErrorEstimate, double.NaN, false, st, ElementVerdict.Skipped,
                "analytic gradient is NaN and no finite output depends on this input (its outputs are NaN)");
        double allowed = Allowed(o, analytic, st.Central, st.ErrorEstimate);
        if (!st.IsKink)
        {
            bool ok = Math.Abs(analytic - st.Central) <= allowed;
            return Make(st.Central, st.ErrorEstimate, allowed, false, st, ok ? ElementVerdict.Pass : ElementVerdict.Fail,
                level0Note(st, h0));
        }

        // At a kink finite differences bound the gradient: per output, any value between its one-sided
        // slopes is a valid choice (the intervals add up over outputs); the declared rule picks one.
        double lo = st.MinSlope, hi = st.MaxSlope;
        double kAllowed = o.AbsoluteTolerance + o.RelativeTolerance * Math.Max(Math.Abs(lo), Math.Abs(hi)) + 2 * st.ErrorEstimate;
        string? note = null;
        bool inRange = analytic >= lo - kAllowed && analytic <= hi + kAllowed;
        if (!inRange) note = "outside the range the one-sided slopes allow";
        bool matchesDeclared = declared is not { } dv ||
            Math.Abs(analytic - dv) <= o.AbsoluteTolerance + o.RelativeTolerance * Math.Max(Math.Abs(analytic), Math.Abs(dv));
        if (!matchesDeclared) note = (note is null ? "" : note + "; ") + $"the declared rule gives {ElementCheck.F(declared!.Value)}";
        return Make(st.Central, st.ErrorEstimate, kAllowed, true, st,
            inRange && matchesDeclared ? ElementVerdict.KinkPass : ElementVerdict.Fail, note);

        static string? level0Note(Stencil5 st, double h0) =>
            st.Step < h0 ? $"near-kink within {ElementCheck.F(h0 * 2)} of x, resolved with step {ElementCheck.F(st.Step)}" : null;
    }

    /// <summary>
    /// 2^round(log2 v). Without log2 and pow (twice per element of every check, a few percent of a convolution's): the
    /// mantissa against √2 decides, except within rounding of √2 (and off the normal range), where log2's rounding
    /// decides as it always has, so every step is bit for bit the one it was.
    /// </summary>
    internal static double PowerOfTwoNear(double v)
    {
        if (!double.IsNormal(v) || v < 0) return Math.Pow(2, Math.Round(Math.Log2(v)));
        int e = Math.ILogB(v);
        double m = Math.ScaleB(v, -e); // in [1, 2)
        if (Math.Abs(m - Sqrt2) < 1e-9) return Math.Pow(2, Math.Round(Math.Log2(v)));
        return Math.ScaleB(1.0, m < Sqrt2 ? e : e + 1);
    }

    private static readonly double Sqrt2 = Math.Sqrt(2);

    /// <summary>The values along one coordinate direction at offsets -2h..2h, and what they say.</summary>
    internal readonly record struct Stencil5(double Step, double Central, double ErrorEstimate, double Left, double Right,
        double MinSlope, double MaxSlope, bool IsKink);

    /// <summary>
    /// Per element (or per random direction, for the projection screen): the stencil sums over the outputs
    /// it reaches, and what their one-sided slopes say.
    /// </summary>
    internal struct Accumulator
    {
        public double D0, D1, D3, D4;   // Σ_j dY_j (y_j(t) - y_j(0)) at t = -2, -1, 1, 2
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
            D0 += va; D1 += vb; D3 += vc; D4 += vd;
            // Rounding in each difference: a few ulps of what the output holds, then the product with dY.
            double mag = Math.Abs(dy) * (Max(Max(Math.Abs(m2), Math.Abs(m1)), Max(Math.Abs(p1), Math.Abs(p2))) + Math.Abs(y0));
            noise = 64 * Tolerance.UnitRoundoff * mag;
            Noise += noise;
            return true;
        }

        /// <summary>
        /// The 3-point central difference from sums of the ±h pair alone, added through <see cref="AddSmooth"/> with
        /// that pair standing in for the ±2h one too (D0 and D4 then repeat D1 and D3 and are not read): the error
        /// estimate is rounding alone, the same rounding model as <see cref="Finish"/>'s.
        /// </summary>
        public readonly Stencil5? FinishNear(double h) => FinishNear(D1, D3, Noise, NonFinite, h);

        /// <summary>
        /// The one-sided difference from the +h pass's sums (added with the unmoved output standing in for the -h one:
        /// D3 and the rounding of that pass alone), for an op affine in the moved input
        /// (<see cref="GradCheckOptions.OneSidedWhenAffine"/>): the error estimate is rounding alone, half the 3-point
        /// one's factor (one sum over h instead of two over 2h, and room for the gap to the central value, which the
        /// affine sample bounds by the 3-point estimate: twice this estimate and that gap together stay inside the
        /// 5-point rounding allowance). The left slope was not measured.
        /// </summary>
        public static Stencil5? FinishOneSided(double d3, double noise, bool nonFinite, double h)
        {
            if (nonFinite) return null;
            double f = d3 / h;
            return new Stencil5(h, f, 2 * noise / h, double.NaN, f, f, f, false);
        }

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
            Span<double> total = [D0, D1, 0, D3, D4];
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

    /// <summary>
    /// One worker's buffers for the compressed passes: the input it moves, a colour's owners' places and accumulators, and,
    /// for an op that writes into lent arrays, the four outputs of a colour's stencil.
    /// </summary>
    private sealed class Scratch(Tensor input, int outputs, int largest, bool lend)
    {
        public double[] Work { get; } = input.ToArray();
        public Accumulator[] Acc { get; } = new Accumulator[largest];

        // A colour's ±h sums by element (its place in the colour), for the 3-point value: three numbers and a flag each
        // instead of a whole accumulator read and written per output.
        public double[] D1 { get; } = new double[largest];
        public double[] D3 { get; } = new double[largest];
        public double[] Noise { get; } = new double[largest];
        public bool[] NonFinite { get; } = new bool[largest];

        /// <summary>Outputs whose ±h terms are computed at once (in vectors) before they are added by owner.</summary>
        public const int Chunk = 512;

        public double[] Vb { get; } = new double[Chunk];
        public double[] Vc { get; } = new double[Chunk];
        public double[] Nz { get; } = new double[Chunk];
        public bool[] Bad { get; } = new bool[Chunk];

        /// <summary>Each output's owner as its place in the colour (-1: none), and the pattern they are for (-1: one colour's).</summary>
        public int[] Slots { get; } = new int[outputs];
        public int SlotsPattern = -1;

        public double[]?[]? Lent { get; } = lend ? new double[]?[4] : null; // allocated when first lent: the ±2h pair may never be
    }

    /// <summary>Evaluates the op with elements of one input moved, against the unmoved output.</summary>
    private sealed class Probe(IOp op, NamedTensors inputs, string name, Tensor gradOutput, Tensor baseOutput)
    {
        // Colours per call of a batched op in the compressed pass: 64 forwards per round trip, and a bounded
        // number of outputs held at once.
        private const int ColoursPerBatch = 16;

        private static readonly int[] Offsets = [-2, -1, 1, 2], Far = [-2, 2], MinusOne = [-1], PlusOne = [1];

        /// <summary>
        /// Every how many colours the affine sample takes one (<see cref="AffineOnSample"/>): a prime, so that colours
        /// numbered (channel, window residue) are not all sampled at one residue.
        /// </summary>
        private const int SampleEvery = 31;

        public string Name { get; } = name;

        public Tensor Input { get; } = inputs[name];

        /// <summary>
        /// Whether the op is differentiable everywhere: no kink test per output, and an element's slope interval is its
        /// numeric value (ours only: an implementation under test is never trusted to be smooth).
        /// </summary>
        public bool Smooth { get; } = op is IHasJacobianStructure { IsSmooth: true };

        /// <summary>
        /// The outputs with the input's elements in <paramref name="moved"/> moved by t·step[e], for each t of
        /// <paramref name="offsets"/>; written into <c>lent[firstLent ..]</c> when given (an <see cref="IForwardInto"/> op).
        /// </summary>
        private Tensor[] Outputs(double[] work, IReadOnlyList<int> moved, Func<int, double> step, int[] offsets, double[]?[]? lent = null, int firstLent = 0)
        {
            var result = new Tensor[offsets.Length];
            int slot = 0;
            foreach (int t in offsets)
            {
                foreach (int e in moved) work[e] = Input.At(e) + t * step(e);
                try
                {
                    var movedInputs = inputs.With(Name, Tensor.Wrap(Input.Shape, work));
                    var y = lent is not null && op is IForwardInto into ? into.Forward(movedInputs, lent[firstLent + slot] ??= new double[baseOutput.Count]) : op.Forward(movedInputs);
                    // An output that is a view of the moved input (flatten) would change back with it.
                    result[slot++] = y.Shares(work) ? Tensor.Wrap(y.Shape, y.ToArray()) : y;
                }
                finally { foreach (int e in moved) work[e] = Input.At(e); }
            }
            return result;
        }

        /// <summary>
        /// The inputs of <see cref="Outputs"/>'s four passes, each on its own copy: a batch holds them all at once.
        /// The moved values are computed as there, so a batched op sees bit for bit the same inputs.
        /// </summary>
        private IEnumerable<NamedTensors> MovedInputs(IReadOnlyList<int> moved, Func<int, double> step)
        {
            foreach (int t in Offsets)
            {
                var x = Input.ToArray();
                foreach (int e in moved) x[e] = Input.At(e) + t * step(e);
                yield return inputs.With(Name, Tensor.Wrap(Input.Shape, x));
            }
        }

        private static IReadOnlyList<Tensor> ForwardAll(IBatchedForward batched, List<NamedTensors> passes)
        {
            var y = batched.ForwardAll(passes);
            return y.Count == passes.Count ? y
                : throw new InvalidOperationException($"a batched forward returned {y.Count} outputs for {passes.Count} inputs");
        }

        /// <summary>
        /// One element moved alone: every output is attributed to it. Null when an output turns non-finite. For a
        /// smooth op with <paramref name="accept"/>: the one-sided value when <paramref name="oneSided"/> and it accepts
        /// it, else the 3-point value when it accepts that, else the 5-point one.
        /// </summary>
        public Stencil5? Evaluate(int i, double h, Func<Stencil5, bool>? accept = null, bool oneSided = false)
        {
            if (Smooth && accept is not null && op is not IBatchedForward)
            {
                Tensor? plus = null;
                if (oneSided)
                {
                    plus = Outputs(Input.ToArray(), [i], _ => h, PlusOne)[0];
                    var sums = Sum(baseOutput, baseOutput, plus, plus, h);
                    if (Accumulator.FinishOneSided(sums.D3, sums.Noise, sums.NonFinite, h) is { } f && accept(f)) return f;
                }
                var minus = Outputs(Input.ToArray(), [i], _ => h, MinusOne)[0];
                plus ??= Outputs(Input.ToArray(), [i], _ => h, PlusOne)[0];
                if (Sum(minus, minus, plus, plus, h).FinishNear(h) is { } st && accept(st)) return st;
                var far = Outputs(Input.ToArray(), [i], _ => h, Far);
                return Sum(far[0], minus, plus, far[1], h).Finish(h, Smooth);
            }
            var y = op is IBatchedForward batched
                ? ForwardAll(batched, [.. MovedInputs([i], _ => h)])
                : Outputs(Input.ToArray(), [i], _ => h, Offsets);
            return Sum(y[0], y[1], y[2], y[3], h).Finish(h, Smooth);
        }

        /// <summary>Every output attributed to the one element moved (for <see cref="Evaluate"/>).</summary>
        private Accumulator Sum(Tensor m2t, Tensor m1t, Tensor p1t, Tensor p2t, double h)
        {
            ReadOnlySpan<double> y0 = baseOutput.Span, dy = gradOutput.Span, m2 = m2t.Span, m1 = m1t.Span, p1 = p1t.Span, p2 = p2t.Span;
            var acc = new Accumulator();
            for (int j = 0; j < y0.Length; j++)
                if (Smooth) acc.AddSmooth(dy[j], y0[j], m2[j], m1[j], p1[j], p2[j]);
                else acc.Add(dy[j], y0[j], m2[j], m1[j], p1[j], p2[j], h);
            return acc;
        }

        /// <summary>
        /// Whether the op's word that it is affine in this input holds where the check can see it: on the elements of every
        /// <see cref="SampleEvery"/>th colour (or, when none of those is checked, of the first checked element's colour),
        /// the ±h pair's left and right slopes agree within twice their rounding estimate, as an affine op's do (their
        /// difference is the second difference over h). The sums are the check's own, compressed or element by element,
        /// so either way the same numbers decide.
        /// </summary>
        public bool AffineOnSample(JacobianStructure colouring, bool compressed, Func<int, double> step, int[]? selected, bool parallel)
        {
            var movable = Movable(selected).ToList();
            if (movable.Count == 0) return true;
            var sampled = movable.Where(e => colouring.ColourOf(e) % SampleEvery == 0).ToArray();
            if (sampled.Length == 0) sampled = [.. movable.Where(e => colouring.ColourOf(e) == colouring.ColourOf(movable[0]))];
            int refuted = 0, seen = 0;
            bool Agree(Stencil5 st)
            {
                Interlocked.Increment(ref seen);
                if (!(Math.Abs(st.Right - st.Left) <= 2 * st.ErrorEstimate)) Interlocked.Exchange(ref refuted, 1);
                return true; // the ±h pair is all the sample needs
            }
            if (compressed) EvaluateColoured(colouring, step, parallel, sampled, (_, st) => Agree(st), (_, _) => { });
            else Loop(sampled.Length, parallel, k => Evaluate(sampled[k], step(sampled[k]), Agree));
            return refuted == 0 && seen > 0; // a sample whose every element turned an output non-finite shows nothing
        }

        /// <summary>The elements a check can move: the selected ones (all when null) that are finite.</summary>
        private IEnumerable<int> Movable(int[]? selected)
        {
            foreach (int e in selected ?? Enumerable.Range(0, Input.Count))
                if (double.IsFinite(Input.At(e))) yield return e;
        }

        /// <summary>
        /// Compressed: the elements of each colour move together, each by its own step, and each output's change is
        /// attributed to the one element of that colour the structure says it depends on. A batched op gets
        /// <see cref="ColoursPerBatch"/> colours per call (in order, one thread); the others one colour per pass loop.
        /// A smooth op with <paramref name="accept"/> gets the +h pass first when <paramref name="oneSided"/>, then the ±h
        /// pair for a colour with an element <paramref name="accept"/> refuses on one side, and the ±2h passes only for a
        /// colour with an element it refuses on 3 points; each element's result is then the one <see cref="Evaluate"/>
        /// gives it alone.
        /// </summary>
        public void EvaluateColoured(JacobianStructure structure, Func<int, double> step, bool parallel, int[]? selected,
            Func<int, Stencil5, bool>? accept, Action<int, Stencil5?> finished, bool oneSided = false)
        {
            // The moved elements by colour, counted first: a colour can hold a large share of the input, and lists
            // grown by doubling would hold up to twice that.
            var sizes = new int[structure.Colours];
            var slot = new int[Input.Count]; // an element's place in its colour, -1 for elements no colour moves; first its colour
            Array.Fill(slot, -1);
            foreach (int e in Movable(selected)) sizes[slot[e] = structure.ColourOf(e)]++;
            var byColour = sizes.Select(n => new int[n]).ToArray();
            Array.Clear(sizes);
            var steps = new double[Input.Count];
            foreach (int e in Movable(selected))
            {
                int c = slot[e];
                slot[e] = sizes[c]++;
                byColour[c][slot[e]] = e;
                steps[e] = step(e);
            }
            int largest = byColour.Max(l => l.Length);
            bool whole = byColour.Sum(l => l.Length) == Input.Count; // every element moves: ranks are the same in colours of one pattern
            if (op is IBatchedForward batched)
            {
                var slots = new int[baseOutput.Count];
                int pattern = -1;
                var acc = new Accumulator[largest];
                var moving = Enumerable.Range(0, byColour.Length).Where(c => byColour[c].Length > 0);
                foreach (var group in moving.Chunk(ColoursPerBatch))
                {
                    var y = ForwardAll(batched, group.SelectMany(c => MovedInputs(byColour[c], e => steps[e])).ToList());
                    for (int k = 0; k < group.Length; k++) Accumulate(group[k], y, 4 * k, SlotsOf(group[k], slots, ref pattern), acc);
                }
            }
            else
            {
                using var scratch = new ThreadLocal<Scratch>(() => new Scratch(Input, baseOutput.Count, largest, lend: op is IForwardInto));
                bool nearFirst = Smooth && accept is not null;
                // Colours of one pattern one after the other, so that a worker mostly reuses its owners by rank.
                var order = Enumerable.Range(0, byColour.Length).OrderBy(structure.PatternOf).ToArray();
                Loop(byColour.Length, parallel, i =>
                {
                    int c = order[i];
                    if (byColour[c].Length == 0) return;
                    var s = scratch.Value!;
                    if (nearFirst && oneSided) AccumulateOneSidedFirst(c, s);
                    else if (nearFirst) AccumulateNearFirst(c, s, byColour[c]);
                    else Accumulate(c, Outputs(s.Work, byColour[c], e => steps[e], Offsets, s.Lent), 0, SlotsOf(c, s.Slots, ref s.SlotsPattern), s.Acc);
                });
            }

            // Colour c's outputs at y[at..at+3] into its elements' accumulators, then its elements are finished; no
            // two colours share an element, so neither the order of colours nor batching changes any element's sums.
            void Accumulate(int c, IReadOnlyList<Tensor> y, int at, int[] slots, Accumulator[] acc)
            {
                SumColour(c, y[at].Span, y[at + 1].Span, y[at + 2].Span, y[at + 3].Span, slots, acc);
                foreach (int e in byColour[c]) finished(e, acc[slot[e]].Finish(steps[e], Smooth));
            }

            // OneSidedWhenAffine: the +h pass; its one-sided value for each element accept takes, the ±h pair (the +h pass
            // kept) for the others.
            void AccumulateOneSidedFirst(int c, Scratch s)
            {
                var members = byColour[c];
                var plus = Outputs(s.Work, members, e => steps[e], PlusOne, s.Lent, firstLent: 1)[0];
                SumNear(c, baseOutput.Span, plus.Span, s, oneSided: true); // the unmoved output for the -h pass: D3 and the +h pass's rounding
                List<int>? rest = null;
                foreach (int e in members)
                {
                    int k = slot[e];
                    if (Accumulator.FinishOneSided(s.D3[k], s.Noise[k], s.NonFinite[k], steps[e]) is { } st && accept!(e, st)) finished(e, st);
                    else (rest ??= []).Add(e);
                }
                if (rest is not null) AccumulateNearFirst(c, s, rest, plus);
            }

            // ThreePointFirst: the ±h passes (the +h one given or made); their 3-point value for each of the candidates
            // accept takes, the ±2h passes and the 5-point value for the others (the sums are per element, so which
            // others does not change them).
            void AccumulateNearFirst(int c, Scratch s, IReadOnlyList<int> candidates, Tensor? plus = null)
            {
                var (members, acc) = (byColour[c], s.Acc);
                var minus = Outputs(s.Work, members, e => steps[e], MinusOne, s.Lent)[0];
                plus ??= Outputs(s.Work, members, e => steps[e], PlusOne, s.Lent, firstLent: 1)[0];
                SumNear(c, minus.Span, plus.Span, s);
                List<int>? rest = null;
                foreach (int e in candidates)
                {
                    int k = slot[e];
                    if (Accumulator.FinishNear(s.D1[k], s.D3[k], s.Noise[k], s.NonFinite[k], steps[e]) is { } st && accept!(e, st)) finished(e, st);
                    else (rest ??= []).Add(e);
                }
                if (rest is null) return;
                var far = Outputs(s.Work, members, e => steps[e], Far, s.Lent, firstLent: 2);
                SumColour(c, far[0].Span, minus.Span, plus.Span, far[1].Span, SlotsOf(c, s.Slots, ref s.SlotsPattern), acc);
                foreach (int e in rest) finished(e, acc[slot[e]].Finish(steps[e], Smooth));
            }

            // The ±h pair's sums of colour c's elements (cleared first), as SumColour would add them with that pair for both.
            void SumNear(int c, ReadOnlySpan<double> m1, ReadOnlySpan<double> p1, Scratch s, bool oneSided = false)
            {
                var slots = SlotsOf(c, s.Slots, ref s.SlotsPattern);
                int n = byColour[c].Length;
                var (d1, d3, noise, nonFinite) = (s.D1, s.D3, s.Noise, s.NonFinite);
                Array.Clear(d1, 0, n);
                Array.Clear(d3, 0, n);
                Array.Clear(noise, 0, n);
                Array.Clear(nonFinite, 0, n);
                ReadOnlySpan<double> y0 = baseOutput.Span, dy = gradOutput.Span;
                var (vb, vc, nz, bad) = (oneSided ? [] : s.Vb, s.Vc, s.Nz, s.Bad);
                var run = new Run { Current = -1 };
                for (int from = 0; from < y0.Length; from += Scratch.Chunk)
                {
                    int count = Math.Min(Scratch.Chunk, y0.Length - from);
                    // Each output's terms in vectors first; a chunk where an output turned non-finite one by one instead.
                    ReadOnlySpan<double> dyc = dy.Slice(from, count), y0c = y0.Slice(from, count), m1c = m1.Slice(from, count), p1c = p1.Slice(from, count);
                    bool clean = Accumulator.NearTerms(dyc, y0c, m1c, p1c, vb, vc, nz);
                    if (!clean) Accumulator.NearTermsOneByOne(dyc, y0c, m1c, p1c, vb, vc, nz, bad);
                    if (oneSided) Scatter<OneSide>(slots.AsSpan(from, count), vb, vc, nz, clean ? default : bad, d1, d3, noise, nonFinite, ref run);
                    else Scatter<BothSides>(slots.AsSpan(from, count), vb, vc, nz, clean ? default : bad, d1, d3, noise, nonFinite, ref run);
                }
                run.Flush(d1, d3, noise);
            }

            // Each output's owner in colour c as its place in the colour (-1: none or not moved), into slots, unless slots
            // already hold them (laidOut: what they were laid out for). When every element moves, colours of one pattern
            // share them; otherwise they are the colour's own (-2 - c).
            int[] SlotsOf(int c, int[] slots, ref int laidOut)
            {
                int key = whole && structure.PatternOf(c) is >= 0 and var pattern ? pattern : -2 - c;
                if (key == laidOut) return slots;
                structure.Owners(c, slots);
                for (int j = 0; j < slots.Length; j++)
                    if (slots[j] >= 0) slots[j] = slot[slots[j]];
                laidOut = key;
                return slots;
            }

            // Colour c's outputs into its elements' accumulators (cleared first), each by its owner's place (SlotsOf).
            void SumColour(int c, ReadOnlySpan<double> m2, ReadOnlySpan<double> m1, ReadOnlySpan<double> p1, ReadOnlySpan<double> p2, int[] slots, Accumulator[] acc)
            {
                var members = byColour[c];
                Array.Clear(acc, 0, members.Length);
                ReadOnlySpan<double> y0 = baseOutput.Span, dy = gradOutput.Span;
                // Runs of outputs with one owner (a batch-norm channel) accumulate in a local copy: no round trip
                // through memory per output.
                int current = -1;
                var local = new Accumulator();
                for (int j = 0; j < y0.Length; j++)
                {
                    int k = slots[j];
                    if (k < 0) continue; // no owner, or one not moved (unselected or non-finite)
                    if (k != current)
                    {
                        if (current >= 0) acc[current] = local;
                        current = k;
                        local = acc[k];
                    }
                    if (Smooth) local.AddSmooth(dy[j], y0[j], m2[j], m1[j], p1[j], p2[j]);
                    else local.Add(dy[j], y0[j], m2[j], m1[j], p1[j], p2[j], steps[members[k]]);
                }
                if (current >= 0) acc[current] = local;
            }
        }
    }

    /// <summary>A run of outputs with one owner, adding in registers (<see cref="Scatter"/>).</summary>
    private struct Run
    {
        public int Current;
        public double S1, S3, Sn;

        public readonly void Flush(Span<double> d1, Span<double> d3, Span<double> noise)
        {
            if (Current >= 0) (d1[Current], d3[Current], noise[Current]) = (S1, S3, Sn);
        }
    }

    /// <summary>Whether <see cref="Scatter"/> adds the -h terms too (a compile-time choice: the JIT drops the other branch).</summary>
    private interface ISides { static abstract bool Both { get; } }

    private struct BothSides : ISides { public static bool Both => true; }

    private struct OneSide : ISides { public static bool Both => false; } // the -h sums are left at 0

    /// <summary>
    /// A chunk's ±h terms into the sums of their owners' places (<paramref name="slots"/>, -1: none), in output order; an
    /// output marked in <paramref name="bad"/> (empty: none) flags its owner instead. A run of outputs with one owner (a
    /// weight's channel plane) adds in registers; no call in the loop, so that they stay there.
    /// </summary>
    private static void Scatter<TSides>(ReadOnlySpan<int> slots, ReadOnlySpan<double> vb, ReadOnlySpan<double> vc, ReadOnlySpan<double> nz, ReadOnlySpan<bool> bad,
        Span<double> d1, Span<double> d3, Span<double> noise, Span<bool> nonFinite, ref Run run) where TSides : struct, ISides
    {
        var (current, s1, s3, sn) = (run.Current, run.S1, run.S3, run.Sn);
        if (TSides.Both) vb = vb[..slots.Length];
        vc = vc[..slots.Length];
        nz = nz[..slots.Length];
        for (int i = 0; i < slots.Length; i++)
        {
            int k = slots[i];
            if (k < 0) continue; // no owner, or one not moved (unselected or non-finite)
            if (!bad.IsEmpty && bad[i])
            {
                nonFinite[k] = true;
                continue;
            }
            if (k != current)
            {
                if (current >= 0)
                {
                    if (TSides.Both) d1[current] = s1;
                    (d3[current], noise[current]) = (s3, sn);
                }
                (current, s1, s3, sn) = (k, TSides.Both ? d1[k] : 0, d3[k], noise[k]);
            }
            if (TSides.Both) s1 += vb[i];
            s3 += vc[i];
            sn += nz[i];
        }
        (run.Current, run.S1, run.S3, run.Sn) = (current, s1, s3, sn);
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
