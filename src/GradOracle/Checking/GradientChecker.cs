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
public static partial class GradientChecker
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
            return new GradCheckResult(op.Name, op.AttributeText, [], $"{e.GetType().Name}: {e.Message}");
        }

        var elements = new List<ElementColumns>();
        foreach (var name in op.DifferentiableInputs)
        {
            var x = inputs[name];
            if (!analytic.Contains(name))
                return new GradCheckResult(op.Name, op.AttributeText, elements.SelectMany(c => c.All()), $"backward returned no gradient for '{name}'");
            var a = analytic[name];
            if (a.Shape != x.Shape)
                return new GradCheckResult(op.Name, op.AttributeText, elements.SelectMany(c => c.All()), $"gradient for '{name}' has shape {a.Shape}, the input {x.Shape}");
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
            var constants = (op as IHasJacobianStructure)?.ConstantElements(name, inputs);
            var checks = new ElementColumns(name, x.Shape, a, dn, selected, (an, num, est) => Allowed(options, an, num, est), intervals: !probe.Smooth);
            void Judge(int i, Stencil5? st) => checks.Store(position?[i] ?? i,
                constants?.Contains(i) == true ? DefinedZero(probe, i, a.At(i)) : CheckElement(probe, i, a.At(i), dn?.At(i), options, st));
            Func<int, Stencil5, bool>? accept = options.ThreePointFirst ? (i, st) => PassesOnThreePoints(a.At(i), st, options) : null;
            if (structure is null)
                Loop(checks.Count, options.Parallel, k =>
                {
                    int i = selected?[k] ?? k;
                    Judge(i, double.IsFinite(x.At(i)) ? EvaluateAlone(probe, i, options, accept) : null);
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
                probe.EvaluateColoured(structure, i => StepAt(x.At(i), options, 0), options.Parallel, selected, accept, (i, st) => Finished(i, st, 0, kinks));
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
        return new GradCheckResult(op.Name, op.AttributeText, elements) { ExcludedOutputs = excluded };
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
    private static Stencil5? EvaluateAlone(Probe probe, int i, GradCheckOptions o, Func<int, Stencil5, bool>? accept)
    {
        Stencil5? s = null;
        for (int level = 0; level <= o.Refinements; level++)
        {
            s = probe.Evaluate(i, StepAt(probe.Input.At(i), o, level), accept is null ? null : st => accept(i, st));
            if (s is not { IsKink: true }) break;
        }
        return s;
    }

    /// <summary>An element whose gradient the op defines as 0 (<see cref="IHasJacobianStructure.ConstantElements"/>): it passes only at 0.</summary>
    private static ElementCheck DefinedZero(Probe probe, int i, double analytic) =>
        new(probe.Name, i, probe.Input.Shape, analytic, 0, 0, 0, false, double.NaN, double.NaN, double.NaN, double.NaN, null,
            analytic == 0 ? ElementVerdict.Pass : ElementVerdict.Fail, "the op defines this gradient as 0 (a constant to it, as embedding's padding_idx row): not a derivative finite differences can check");

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
        if (!matchesDeclared) note = (note is null ? "" : note + "; ") + $"the declared rule gives {ElementCheck.Show(declared!.Value)}";
        return Make(st.Central, st.ErrorEstimate, kAllowed, true, st,
            inRange && matchesDeclared ? ElementVerdict.KinkPass : ElementVerdict.Fail, note);

        static string? level0Note(Stencil5 st, double h0) =>
            st.Step < h0 ? $"near-kink within {ElementCheck.Show(h0 * 2)} of x, resolved with step {ElementCheck.Show(st.Step)}" : null;
    }

    /// <summary>
    /// 2^round(log2 v). Without log2 and pow (twice per element of every check, a few percent of a convolution's): the
    /// mantissa against √2 decides, except within rounding of √2 (and off the normal range), where log2's rounding
    /// decides, so every step is exactly 2^round(log2 v).
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
}
