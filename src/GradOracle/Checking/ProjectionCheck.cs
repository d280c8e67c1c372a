using GradOracle.Layers;
using GradOracle.Tensors;
using MathNet.Numerics.Random;

namespace GradOracle.Checking;

/// <summary>
/// A fast screen of an op's backward: one random projection <c>Σ_i a_i u_i</c> against the finite-difference
/// derivative of <c>L(x) = &lt;dY, f(x)&gt;</c> along u, as torch.autograd.gradcheck's fast_mode, but
/// when it fails (or shows a kink) the element set is bisected, each half screened along fresh random
/// directions, until small sets are checked element by element by <see cref="GradientChecker"/>.
/// </summary>
/// <remarks>
/// <para>
/// Cost: a correct op without kinks takes 1 backward and 5 forward passes (the base and the 4 of the
/// stencil), whatever its size; k wrong elements among n take O(k log n) projections of 4 passes each,
/// plus the element checks of the sets they end in.
/// </para>
/// <para>
/// A passing screen is probabilistic. Wrong elements go unnoticed only when their errors cancel in a random
/// projection. u_i is the element's step times a random sign and a random dyadic factor (512 + k)/1024,
/// k = 0..512, so one wrong element alone never cancels; two cancel only when their signs oppose and their
/// weighted errors come within the allowance of each other, a chance of about max(2·allowance/error, 1/1026)
/// (one in a thousand for errors far above the allowance), and more errors cancel less often still. Every
/// split draws fresh weights. The allowance is about the sum of the element checks' allowances (atol·Σ|u_i| +
/// rtol·Σ|a_i u_i|) plus the stencil's error estimate, so the screen practically never fails where every
/// element passes (if it does, the result says the failure could not be localised); in turn an error at one
/// element must exceed the relative tolerance times the whole projection's magnitude to show: small errors
/// in large inputs show only in the full check (or in a screen of fewer elements). The localised elements are
/// exact element checks, the same as
/// <see cref="GradientChecker.Check(IOp, NamedTensors, Tensor, GradCheckOptions?)"/> gives them.
/// </para>
/// </remarks>
public static class ProjectionCheck
{
    private static readonly int[] Offsets = [-2, -1, 1, 2];

    /// <summary>Screens <paramref name="op"/>'s backward at <paramref name="inputs"/> with upstream gradient <paramref name="gradOutput"/>.</summary>
    /// <exception cref="ParameterException">An option is out of range.</exception>
    public static ProjectionResult Screen(IOp op, NamedTensors inputs, Tensor gradOutput, ProjectionOptions? options = null)
    {
        options ??= new ProjectionOptions();
        options.Validate();
        var counted = new CountedOp(op);
        ProjectionResult Failed(string error) =>
            new(op.Name, op.AttributeText, null, [], 0, 0, counted.Forwards) { Error = error };

        Tensor baseOutput, dy;
        NamedTensors analytic;
        int excluded = 0;
        try
        {
            baseOutput = counted.Forward(inputs);
            Tensor.RequireShape("grad_output", gradOutput, baseOutput.Shape);
            // As the checker does: finite differences see nothing of an output that is non-finite at x.
            for (int j = 0; j < baseOutput.Count; j++) if (!double.IsFinite(baseOutput.At(j))) excluded++;
            dy = excluded == 0 ? gradOutput : Tensor.Create(gradOutput.Shape, j => double.IsFinite(baseOutput.At(j)) ? gradOutput.At(j) : 0);
            analytic = counted.Backward(inputs, dy);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return Failed($"{e.GetType().Name}: {e.Message}");
        }

        var movable = new List<Element>();
        var unprojectable = new List<Element>();
        int leftOut = 0;
        var checkOptions = options.ForElements(null);
        foreach (var name in op.DifferentiableInputs)
        {
            if (!analytic.Contains(name)) return Failed($"backward returned no gradient for '{name}'");
            Tensor x = inputs[name], a = analytic[name];
            if (a.Shape != x.Shape) return Failed($"gradient for '{name}' has shape {a.Shape}, the input {x.Shape}");
            var constants = (op as IHasJacobianStructure)?.ConstantElements(name, inputs);
            for (int i = 0; i < x.Count; i++)
            {
                var e = new Element(name, i, a.At(i), GradientChecker.FirstStep(x.At(i), checkOptions));
                // A non-finite input cannot move; a non-finite gradient would turn every projection it is in into NaN;
                // a gradient defined as 0 is no derivative to project: each goes to the element check.
                if (!double.IsFinite(x.At(i))) leftOut++;
                else (double.IsFinite(e.Analytic) && constants?.Contains(i) != true ? movable : unprojectable).Add(e);
            }
        }

        var screener = new Screener(counted, inputs, dy, baseOutput, movable.ToArray(), options);
        var all = new Range(0, movable.Count);
        var top = movable.Count > 0 ? screener.Project(all) : null;
        var leaves = new List<Range>();
        if (top is { Agrees: false }) screener.Localise(all, leaves);

        // One element check for all the small sets the bisection ended in (and the unprojectable elements).
        var chosen = leaves.SelectMany(r => movable.GetRange(r.From, r.Count)).Concat(unprojectable)
            .Select(e => (e.Input, e.Index)).ToHashSet();
        var checks = chosen.Count == 0
            ? new GradCheckResult(op.Name, op.AttributeText, [])
            : GradientChecker.Check(counted, inputs, gradOutput, options.ForElements((name, i) => chosen.Contains((name, i))));
        return new ProjectionResult(op.Name, op.AttributeText, top, [.. checks.Worst], movable.Count, screener.Projections, counted.Forwards)
        {
            Error = checks.Error, LeftOut = leftOut, ExcludedOutputs = excluded,
        };
    }

    /// <summary>Convenience: a seeded random upstream gradient of the op's output shape (as the full check's).</summary>
    /// <exception cref="ParameterException">An option is out of range.</exception>
    public static ProjectionResult Screen(IOp op, NamedTensors inputs, int seed = 1, ProjectionOptions? options = null) =>
        Screen(op, inputs, GradientChecker.RandomGradOutput(op.Forward(inputs).Shape, seed), options);

    /// <summary>One differentiable element: where, its analytic gradient, and its checker step.</summary>
    private readonly record struct Element(string Input, int Index, double Analytic, double Step);

    /// <summary>A contiguous run [From, To) of the element list.</summary>
    private readonly record struct Range(int From, int To)
    {
        public int Count => To - From;
    }

    /// <summary>Projects sets of elements along fresh random directions, and bisects the ones that do not agree.</summary>
    private sealed class Screener(IOp op, NamedTensors inputs, Tensor gradOutput, Tensor baseOutput, Element[] elements, ProjectionOptions options)
    {
        private readonly Xoshiro256StarStar rng = new(options.Seed, threadSafe: false);

        // Where each input's elements start: a split there keeps tensors apart.
        private readonly int[] inputStarts = Enumerable.Range(1, Math.Max(0, elements.Length - 1))
            .Where(k => elements[k].Input != elements[k - 1].Input).ToArray();

        public int Projections { get; private set; }

        /// <summary>Recurses into the halves of <paramref name="set"/> whose projection does not agree; small sets are left to element checks.</summary>
        public void Localise(Range set, List<Range> leaves)
        {
            if (set.Count <= options.LeafSize) { leaves.Add(set); return; }
            int middle = set.From + set.Count / 2;
            int cut = inputStarts.Where(b => b > set.From && b < set.To).DefaultIfEmpty(middle).MinBy(b => Math.Abs(b - middle));
            foreach (var half in (Range[])[new(set.From, cut), new(cut, set.To)])
                if (!Project(half).Agrees) Localise(half, leaves);
        }

        /// <summary>The derivative along u_i = s_i·r_i·h_i over <paramref name="set"/>: the checker's stencil and kink test on D(t) = Σ_j dY_j (y_j(x + t u) - y_j(x)).</summary>
        public Projection Project(Range set)
        {
            Projections++;
            var u = new double[set.Count];
            double analytic = 0, magnitude = 0, moved = 0;
            for (int k = 0; k < u.Length; k++)
            {
                var e = elements[set.From + k];
                // Dyadic, so x + t·u stays exact; 513 factor values so that errors practically never cancel.
                u[k] = (rng.Next(2) == 0 ? -1 : 1) * (512 + rng.Next(513)) / 1024.0 * e.Step;
                analytic += e.Analytic * u[k];
                magnitude += Math.Abs(e.Analytic * u[k]);
                moved += Math.Abs(u[k]);
            }
            var y = new double[Offsets.Length][];
            Loop(Offsets.Length, k => y[k] = op.Forward(Moved(set, u, Offsets[k])).ToArray());

            var acc = new GradientChecker.Accumulator();
            for (int j = 0; j < baseOutput.Count; j++) acc.Add(gradOutput.At(j), baseOutput.At(j), y[0][j], y[1][j], y[2][j], y[3][j], 1);
            if (acc.Finish(1) is not { } st) return new Projection(set.Count, analytic, double.NaN, double.NaN, double.NaN, false);
            double allowed = options.AbsoluteTolerance * moved + options.RelativeTolerance * Math.Max(magnitude, Math.Abs(st.Central)) + 2 * st.ErrorEstimate;
            return new Projection(set.Count, analytic, st.Central, st.ErrorEstimate, allowed, st.IsKink);
        }

        /// <summary>The inputs with the set's elements moved by t·u.</summary>
        private NamedTensors Moved(Range set, double[] u, int t)
        {
            var arrays = new Dictionary<string, double[]>();
            for (int k = 0; k < u.Length; k++)
            {
                var e = elements[set.From + k];
                if (!arrays.TryGetValue(e.Input, out var data)) arrays[e.Input] = data = inputs[e.Input].ToArray();
                data[e.Index] += t * u[k];
            }
            var result = inputs;
            foreach (var (name, data) in arrays) result = result.With(name, Tensor.Wrap(inputs[name].Shape, data));
            return result;
        }

        private void Loop(int count, Action<int> body)
        {
            if (options.Parallel) System.Threading.Tasks.Parallel.For(0, count, body);
            else for (int i = 0; i < count; i++) body(i);
        }
    }

    /// <summary>The op, counting its forward passes (thread-safe); keeps its Jacobian structure for the element checks.</summary>
    private sealed class CountedOp(IOp op) : IOp, IHasJacobianStructure
    {
        private int forwards;

        public int Forwards => forwards;
        public string Name => op.Name;
        public OpAttributes Attributes => op.Attributes;
        public string AttributeText => op.AttributeText;
        public IReadOnlyList<string> DifferentiableInputs => op.DifferentiableInputs;

        public Tensor Forward(NamedTensors inputs)
        {
            Interlocked.Increment(ref forwards);
            return op.Forward(inputs);
        }

        public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput) => op.Backward(inputs, gradOutput);

        public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) =>
            (op as IHasJacobianStructure)?.StructureOf(input, inputs, outputShape);

        public bool IsSmooth => op is IHasJacobianStructure { IsSmooth: true };

        public IReadOnlySet<int>? ConstantElements(string input, NamedTensors inputs) => (op as IHasJacobianStructure)?.ConstantElements(input, inputs);

    }
}
