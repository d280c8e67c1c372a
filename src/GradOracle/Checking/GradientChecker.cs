using System.Collections.Immutable;
using GradOracle.Layers;
using GradOracle.Tensors;
using MathNet.Numerics.Differentiation;

namespace GradOracle.Checking;

/// <summary>Settings of the finite-difference check.</summary>
public sealed record GradCheckOptions
{
    /// <summary>Relative step: h is the power of two nearest <c>Step * max(1, |x|)</c>, so that x ± h is exact.</summary>
    public double Step { get; init; } = 1e-4;

    /// <summary>How many times the step is cut by 16 to tell a near-kink (inside the stencil) from a kink at x.</summary>
    public int Refinements { get; init; } = 3;

    /// <summary>Absolute tolerance on |analytic - numeric|.</summary>
    public double AbsoluteTolerance { get; init; } = 1e-8;

    /// <summary>Relative tolerance on |analytic - numeric|, against the larger magnitude.</summary>
    public double RelativeTolerance { get; init; } = 1e-6;

    /// <summary>
    /// The op whose analytic gradient embodies the declared rules (tie policy, NaN rule). At a kink, finite
    /// differences only bound the gradient between the one-sided slopes; the declared op says which value
    /// inside that range is right. Null: the range alone is judged.
    /// </summary>
    public IOp? Declared { get; init; }
}

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

        var elements = new List<ElementCheck>();
        foreach (var name in op.DifferentiableInputs)
        {
            var x = inputs[name];
            if (!analytic.Contains(name))
                return new GradCheckResult(op.Name, op.Attributes, elements, $"backward returned no gradient for '{name}'");
            var a = analytic[name];
            if (a.Shape != x.Shape)
                return new GradCheckResult(op.Name, op.Attributes, elements, $"gradient for '{name}' has shape {a.Shape}, the input {x.Shape}");
            var probe = new Probe(op, inputs, name, gradOutput, baseOutput);
            for (int i = 0; i < x.Count; i++)
                elements.Add(CheckElement(probe, i, a.At(i), declared?[name].At(i), options));
        }
        return new GradCheckResult(op.Name, op.Attributes, elements) { ExcludedOutputs = excluded };
    }

    /// <summary>Convenience: a seeded random upstream gradient of the op's output shape.</summary>
    public static GradCheckResult Check(IOp op, NamedTensors inputs, int seed = 1, GradCheckOptions? options = null) =>
        Check(op, inputs, RandomGradOutput(op.Forward(inputs).Shape, seed), options);

    private static ElementCheck CheckElement(Probe probe, int i, double analytic, double? declared, GradCheckOptions o)
    {
        var coords = probe.Input.Shape.Coordinates(i).ToImmutableArray();
        double x = probe.Input.At(i);
        ElementCheck Make(double numeric, double est, double allowed, bool kink, Stencil5? st, ElementVerdict v, string? note) =>
            new(probe.Name, i, coords, analytic, numeric, est, allowed, kink, st?.Left ?? double.NaN, st?.Right ?? double.NaN,
                st?.MinSlope ?? double.NaN, st?.MaxSlope ?? double.NaN, declared, v, note);

        if (!double.IsFinite(x))
            return Make(double.NaN, double.NaN, double.NaN, false, null, ElementVerdict.Skipped, $"input is {x}: not differentiable by finite differences");

        double h0 = PowerOfTwoNear(o.Step * Math.Max(1, Math.Abs(x)));
        Stencil5? s = null;
        for (int level = 0; level <= o.Refinements; level++)
        {
            s = probe.Evaluate(i, h0 / Math.Pow(16, level));
            if (s is null)
                return Make(double.NaN, double.NaN, double.NaN, false, null, ElementVerdict.Skipped, "an output turns non-finite when this input moves");
            if (!s.Value.IsKink) break;
        }
        var st = s!.Value;
        if (double.IsNaN(analytic) && st.Central == 0 && !st.IsKink)
            return Make(st.Central, st.ErrorEstimate, double.NaN, false, st, ElementVerdict.Skipped,
                "analytic gradient is NaN and no finite output depends on this input (its outputs are NaN)");
        double allowed = o.AbsoluteTolerance + o.RelativeTolerance * Math.Max(Math.Abs(analytic), Math.Abs(st.Central)) + 2 * st.ErrorEstimate;
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

    private static double PowerOfTwoNear(double v) => Math.Pow(2, Math.Round(Math.Log2(v)));

    /// <summary>The values along one coordinate direction at offsets -2h..2h, and what they say.</summary>
    private readonly record struct Stencil5(double Step, double Central, double ErrorEstimate, double Left, double Right,
        double MinSlope, double MaxSlope, bool IsKink);

    /// <summary>Evaluates the op with one element of one input moved, against the unmoved output.</summary>
    private sealed class Probe
    {
        private readonly IOp op;
        private readonly NamedTensors inputs;
        private readonly double[] work;
        private readonly Tensor gradOutput;
        private readonly Tensor baseOutput;

        public Probe(IOp op, NamedTensors inputs, string name, Tensor gradOutput, Tensor baseOutput)
        {
            this.op = op;
            this.inputs = inputs;
            Name = name;
            Input = inputs[name];
            work = Input.ToArray();
            this.gradOutput = gradOutput;
            this.baseOutput = baseOutput;
        }

        public string Name { get; }

        public Tensor Input { get; }

        /// <summary>
        /// Moves element i by t·h for t = -2..2 and differences each output against the unmoved one before
        /// weighting by dY, so that unaffected outputs contribute exactly 0. Each output is judged on its
        /// own: a smooth output adds its 5-point derivative, an output with a kink (its one-sided slopes
        /// jump) adds the interval between its slopes. A gradient that picks, per output, any value in
        /// that output's interval is a valid one (max-pool windows choose independently), so the sum of
        /// the intervals bounds the analytic value. Null when an output turns non-finite.
        /// </summary>
        public Stencil5? Evaluate(int i, double h)
        {
            var y0 = baseOutput.Span;
            var moved = new double[5][];
            double x = work[i];
            for (int t = -2; t <= 2; t++)
            {
                if (t == 0) continue;
                work[i] = x + t * h;
                try { moved[t + 2] = op.Forward(inputs.With(Name, Tensor.Wrap(Input.Shape, work))).ToArray(); }
                finally { work[i] = x; }
            }

            var dy = gradOutput.Span;
            Span<double> d = stackalloc double[5];   // dY_j (y_j(t) - y_j(0)) for one output
            Span<double> total = stackalloc double[5];
            double lo = 0, hi = 0, noiseTotal = 0;
            bool kink = false;
            for (int j = 0; j < y0.Length; j++)
            {
                if (!double.IsFinite(y0[j])) continue; // a NaN/inf output carries no derivative information
                double mag = 0;
                bool moves = false;
                for (int t = 0; t < 5; t++)
                {
                    if (t == 2) { d[t] = 0; continue; }
                    double diff = moved[t][j] - y0[j];
                    if (!double.IsFinite(diff)) return null;
                    moves |= diff != 0;
                    d[t] = dy[j] * diff;
                    mag = Math.Max(mag, Math.Abs(dy[j]) * (Math.Abs(moved[t][j]) + Math.Abs(y0[j])));
                }
                if (!moves) continue;
                for (int t = 0; t < 5; t++) total[t] += d[t];
                // Rounding in each difference: a few ulps of what the output sums, then the product with dY.
                double noise = 64 * Tolerance.UnitRoundoff * mag;
                noiseTotal += noise;
                var slopes = Slopes(d, h);
                double threshold = 16 * noise / h + 1e-7 * slopes.Scale;
                if (Math.Abs(slopes.Jump) > threshold)
                {
                    kink = true;
                    lo += slopes.Min;
                    hi += slopes.Max;
                }
                else
                {
                    lo += slopes.Central;
                    hi += slopes.Central;
                }
            }

            var all = Slopes(total, h);
            double estimate = Math.Abs(all.C1 - all.C2) / 3 + 4 * noiseTotal / h;
            return new Stencil5(h, kink ? all.C1 : all.Central, estimate, all.Left, all.Right, lo, hi, kink);
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
}
