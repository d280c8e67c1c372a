using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// Power-average pooling, lp_pool{1,2,3}d, computed as torch.nn.functional defines it: avg_pool of x^p (no padding,
/// count_include_pad) times the kernel's size K, to the power 1/p. Over a full window that is (Σ x^p)^(1/p); over
/// ceil_mode's partial last window of c in-bounds cells it is (K/c · Σ x^p)^(1/p), PyTorch's rule, not the
/// documentation's plain sum. x^p is the signed power: p = 2 gives the L2 norm of any window, other p are meant for
/// non-negative inputs (a negative base with a fractional power is NaN, as in PyTorch). Backward:
/// dx_i = Σ_windows dy·y·x_i^(p-1)/S with S the window's Σ x^p, and 0 where S = 0 (PyTorch's sign·relu(|·|) guard).
/// </summary>
public sealed class LpPool : IOp, IHasWindows, IHasInvariants, IHasMagnitudes, IExplainsOutputShape
{
    private LpPool(double normType, PoolingWindows windows)
    {
        if (!(normType > 0) || double.IsInfinity(normType))
            throw new ParameterException("norm_type", Tensor.FormatNumber(normType), "must be a positive finite power p (the window's (Σ x^p)^(1/p))");
        NormType = normType;
        Windows = windows;
        KernelCells = ((int[])windows.Attributes["kernel_size"]!).Aggregate(1, (a, b) => a * b);
    }

    /// <summary>K, the kernel's cell count, PyTorch's multiplier of the window's average.</summary>
    internal int KernelCells { get; }

    /// <summary>lp_poolNd with PyTorch's parameters: norm_type p, kernel_size, stride (defaults to the kernel), ceil_mode.</summary>
    public static LpPool Create(int rank, double normType, int[] kernelSize, int[]? stride = null, bool ceilMode = false) =>
        new(normType, PoolingWindows.StridedUndilated(rank, kernelSize, stride, null, ceilMode));

    /// <summary>lp_pool{r}d.</summary>
    public static OpDescriptor<LpPool> Descriptor { get; } = new()
    {
        Name = "lp_pool{r}d",
        Inputs = [new("input")],
        Attributes = [new("norm_type", "the power p > 0"), .. PoolingWindows.StridedAttributes(dilated: false, padded: false)],
        Build = a => Create(a.Rank, a.Double("norm_type", double.NaN), a.Ints("kernel_size"), a.OptionalInts("stride"), a.Bool("ceil_mode", false)),
        Invariants = [PoolingInvariants.Euler],
        KnownBugs = Bugs,
        Examples = () =>
        [
            new(Create(2, 2, [2]), NamedTensors.Input(Samples.Distinct(Shape.Of(2, 2, 4, 4), 531)), ["l2", "signed"]),
            new(Create(1, 3, [3], [2], ceilMode: true), NamedTensors.Input(Magnitudes.Abs(Samples.Distinct(Shape.Of(1, 2, 8), 532))), ["ceil-last-window", "overlapping"]),
            new(Create(2, 1.5, [2, 3], [1, 2]), NamedTensors.Input(Magnitudes.Abs(Samples.Distinct(Shape.Of(1, 2, 4, 5), 533))), ["fractional-power", "overlapping"]),
            new(Create(3, 4, [2], ceilMode: true), NamedTensors.Input(Samples.Distinct(Shape.Of(1, 1, 3, 4, 3), 534)), ["rank-3", "ceil-last-window", "signed"]),
            new(Create(1, 1, [2]), NamedTensors.Input(Magnitudes.Abs(Samples.Distinct(Shape.Of(2, 3, 6), 535))), ["sum-pooling"]),
            new(Create(3, 2, [2, 1, 2], [1, 1, 2]), NamedTensors.Input(Samples.Distinct(Shape.Of(1, 2, 3, 2, 4), 536)), ["rank-3", "l2", "overlapping"]),
            new(Create(3, 1.5, [2], ceilMode: true), NamedTensors.Input(Magnitudes.Abs(Samples.Distinct(Shape.Of(2, 1, 3, 3, 3), 537))), ["rank-3", "fractional-power", "ceil-last-window"]),
        ],
        DrawCase = d =>
        {
            // lp_pool has no padding: the window drawn without it.
            var k = d.Spatial.Select(n => d.Int(1, Math.Min(3, n))).ToArray();
            var s = k.Select(_ => d.Int(1, 3)).ToArray();
            bool ceil = d.OneIn(2);
            if (ceil) d.Exercises("ceil-mode");
            double p = new[] { 1, 1.5, 2, 2, 3, 4 }[d.Rng.Next(6)];
            // Even powers are norms of any window; other powers are for non-negative inputs (after a relu).
            var x = Samples.Distinct(d.ChannelsFirst(d.Batch, d.Channels), d.DataSeed);
            bool signed = p is 2 or 4;
            d.Exercises(signed ? "signed" : "non-negative");
            return d.Case(Create(d.Rank, p, k, s, ceil), NamedTensors.Input(signed ? x : Magnitudes.Abs(x)));
        },
        DrawWeight = 0.25,
    };

    private static IEnumerable<BugHypothesis> Bugs(LpPool op, NamedTensors inputs, Tensor dy)
    {
        var x = inputs["input"];
        var g = op.Windows.For(x.Shape);
        yield return BugHypothesis.InWholeAnswer($"output: the power mean (avg_pool(x^p))^(1/p), without PyTorch's factor kernel_size = {op.KernelCells}",
            () => op.Result(inputs, dy, Scale.None));
        if (Enumerable.Range(0, g.OutputPlaneSize).Any(o => g.InBoundsWindowSize(o) < op.KernelCells))
            yield return BugHypothesis.InWholeAnswer("output: ceil_mode's partial window summed as the documentation's (Σ x^p)^(1/p); PyTorch computes " +
                "avg_pool(x^p)·kernel_size, which scales it by kernel_size / in-bounds cells", () => op.Result(inputs, dy, Scale.PlainSum));
        if (x.ToArray().Any(v => v < 0) && op.NormType % 2 != 0) // an even power is already |x|^p
            yield return BugHypothesis.InWholeAnswer("output: |x|^p summed (the p-norm of each window) where PyTorch sums the signed power x^p",
                () => op.Result(inputs.With("input", Magnitudes.Abs(x)), dy, Scale.Pytorch) is { } r
                    ? r with { Grads = NamedTensors.Input(Tensor.Create(x.Shape, i => x.At(i) < 0 ? -r.Grads["input"].At(i) : r.Grads["input"].At(i))) } : null);
    }

    /// <summary>The power p.</summary>
    public double NormType { get; }

    /// <inheritdoc/>
    public PoolingWindows Windows { get; }

    /// <inheritdoc/>
    public string Name => $"lp_pool{Windows.Rank}d";

    /// <inheritdoc/>
    public OpAttributes Attributes => new OpAttributes([("norm_type", NormType),
        .. Windows.Attributes.Where(a => a.Key != "padding").Select(a => (a.Key, (object?)a.Value))]);

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    /// <inheritdoc/>
    public string OutputShapeRule(NamedTensors inputs) => $"(N, C, *output size), {Windows.SizeRule(inputs["input"].Shape.Slice(2))}";

    /// <summary>What multiplies a window's Σ x^p: PyTorch's K/c, or a known bug's.</summary>
    private enum Scale { Pytorch, None, PlainSum }

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs) => Result(inputs, null, Scale.Pytorch).Output;

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput) => Result(inputs, gradOutput, Scale.Pytorch).Grads;

    /// <summary>Per window: S = Σ x^p, y = (scale·S)^(1/p), and, given dy, the gradient dx_i += dy·y·x_i^(p-1)/S.</summary>
    private OpResult Result(NamedTensors inputs, Tensor? gradOutput, Scale scale)
    {
        var input = inputs["input"];
        double p = NormType;
        var pass = Windows.Begin(input, gradOutput);
        var g = pass.Geometry;
        var (y, dx) = (new double[pass.OutputShape.Count], new double[input.Count]);
        var windows = PlaneWindows.Of(g);
        // Plane by plane: each window's sums, and each dx element's in the order of the windows that reach it.
        windows.ForEachPlane(pass.Planes, plane =>
        {
            var x = input.Span.Slice(plane * g.InputPlaneSize, g.InputPlaneSize);
            var dxPlane = dx.AsSpan(plane * g.InputPlaneSize, g.InputPlaneSize);
            for (int o = 0; o < g.OutputPlaneSize; o++)
            {
                var taps = windows[o];
                int output = plane * g.OutputPlaneSize + o;
                double factor = scale switch { Scale.None => 1.0 / taps.Length, Scale.PlainSum => 1, _ => (double)KernelCells / taps.Length };
                double sum = 0;
                foreach (int i in taps) sum += Math.Pow(x[i], p);
                y[output] = Math.Pow(factor * sum, 1 / p);
                if (gradOutput is null || sum == 0) continue; // PyTorch's guard: no gradient through a window that sums to 0
                double share = gradOutput.Span[output] * y[output] / sum;
                foreach (int i in taps) dxPlane[i] += share * Math.Pow(x[i], p - 1);
            }
        });
        return new OpResult(Tensor.Wrap(pass.OutputShape, y), NamedTensors.Input(Tensor.Wrap(input.Shape, dx)));
    }

    /// <summary>Calls <paramref name="visit"/> with every window's flat output index and its in-bounds input elements (flat in the input).</summary>
    private static void Visit(PoolingPass pass, Action<int, int[]> visit)
    {
        var g = pass.Geometry;
        var (taps, kernelTaps) = (new int[g.MaxWindowSize], new int[g.MaxWindowSize]);
        for (int o = 0; o < g.OutputPlaneSize; o++)
        {
            int n = g.Gather(o, taps, kernelTaps);
            for (int plane = 0; plane < pass.Planes; plane++)
                visit(plane * g.OutputPlaneSize + o, [.. taps.Take(n).Select(t => plane * g.InputPlaneSize + t)]);
        }
    }

    /// <summary>
    /// What the rounding acts on: y = (K/c·S)^(1/p) carries S's error, n·u·Σ|x|^p, shrunk by 1/p, on top of the power's
    /// own, so y's magnitude is |y|·(1 + S'/(p·|S|)) with S' = Σ |x|^p; each gradient term dy·y·x^(p-1)/S has
    /// |term|·(2 + S'/|S|), summed over the windows that cover the element.
    /// </summary>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput)
    {
        var input = inputs["input"];
        double p = NormType;
        var (x, pass) = (input.ToArray(), Windows.Begin(input, gradOutput));
        var (y, dx) = (new double[pass.OutputShape.Count], new double[input.Count]);
        Visit(pass, (output, taps) =>
        {
            double sum = 0, absolute = 0;
            foreach (int i in taps) { sum += Math.Pow(x[i], p); absolute += Math.Pow(Math.Abs(x[i]), p); }
            if (sum == 0) return; // PyTorch's exact 0
            double value = Math.Abs(Math.Pow((double)KernelCells / taps.Length * sum, 1 / p)), spread = absolute / Math.Abs(sum);
            y[output] = value * (1 + spread / p);
            double share = Math.Abs(gradOutput.At(output) * value / sum) * (2 + spread);
            foreach (int i in taps) dx[i] += share * Math.Abs(Math.Pow(x[i], p - 1));
        });
        return new OpResult(Tensor.Wrap(pass.OutputShape, y), NamedTensors.Input(Tensor.Wrap(input.Shape, dx)));
    }

    /// <summary>Homogeneous of degree 1 (f(a·x) = a·f(x) for a &gt; 0): Euler's identity.</summary>
    public InvariantReport CheckInvariants(NamedTensors inputs, Tensor gradOutput, NamedTensors gradients)
    {
        var r = new InvariantReport.Builder();
        var input = inputs["input"];
        var outShape = PoolingWindows.OutputShape(input.Shape, Windows.For(input.Shape));
        if (!PoolingInvariants.ShapesFit(r, input, gradients["input"], gradOutput, outShape)) return r.Build();
        PoolingInvariants.EulerIdentity(r, input, gradients["input"], gradOutput, Forward(inputs));
        return r.Build();
    }
}
