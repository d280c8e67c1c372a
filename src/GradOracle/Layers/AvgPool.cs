using GradOracle.Geometry;
using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// Average pooling (strided, adaptive or global). Forward divides each window's in-bounds sum by its
/// divisor, exactly as PyTorch computes it: the window clipped to input + padding gives pool_size, then
/// clipped to the input gives the in-bounds count; the divisor is divisor_override if set, else pool_size
/// when count_include_pad, else the in-bounds count. Backward adds dy / divisor to every in-bounds cell
/// of the window: divided, not copied.
/// </summary>
public sealed class AvgPool : IOp, IHasWindows, IForwardInto, IHasInvariants, IHasJacobianStructure, IHasMagnitudes, IExplainsOutputShape
{
    private readonly string kind;

    private AvgPool(string kind, PoolingWindows windows, bool countIncludePad, int? divisorOverride)
    {
        if (divisorOverride == 0)
            throw new ParameterException("divisor_override", "0", "must not be zero (PyTorch: divisor must be not zero)");
        this.kind = kind;
        Windows = windows;
        CountIncludePad = countIncludePad;
        DivisorOverride = divisorOverride;
    }

    /// <summary>avg_poolNd with PyTorch's parameters and defaults (count_include_pad true, no override).</summary>
    public static AvgPool Create(int rank, int[] kernelSize, int[]? stride = null, int[]? padding = null, bool ceilMode = false,
        bool countIncludePad = true, int? divisorOverride = null)
        => new("avg_pool", PoolingWindows.StridedUndilated(rank, kernelSize, stride, padding, ceilMode), countIncludePad, divisorOverride);

    /// <summary>adaptive_avg_poolNd to a fixed output size.</summary>
    public static AvgPool Adaptive(int rank, int[] outputSize) => new("adaptive_avg_pool", PoolingWindows.Adaptive(rank, outputSize), true, null);

    /// <summary>Global average pooling (Network in Network): the mean of each whole plane.</summary>
    public static AvgPool Global(int rank) => new("global_avg_pool", PoolingWindows.Global(rank), true, null);

    /// <summary>avg_pool{r}d.</summary>
    public static OpDescriptor<AvgPool> Descriptor { get; } = Described("avg_pool{r}d",
        [
            .. PoolingWindows.StridedAttributes(dilated: false),
            new("count_include_pad", "true or false: whether padded cells count in the divisor", "True"),
            new("divisor_override", "a non-zero integer replacing the divisor (avg_pool2d and avg_pool3d)", "None"),
        ],
        a => Create(a.Rank, a.Ints("kernel_size"), a.OptionalInts("stride"), a.Ints("padding", [0]), a.Bool("ceil_mode", false),
            a.Bool("count_include_pad", true), a.OptionalInt("divisor_override")),
        d =>
        {
            var (k, s, p, ceil) = d.Window(4);
            bool include = d.OneIn(2);
            int? divisor = d.Rank > 1 && d.OneIn(4) ? d.Int(1, 9) : null; // avg_pool1d has no divisor_override
            if (divisor is not null) d.Exercises("divisor-override");
            d.Exercises(include ? "count-include-pad" : "count-exclude-pad");
            return d.Case(Create(d.Rank, k, s, p, ceil, include, divisor), NamedTensors.Input(d.PoolInput(allowNan: true)));
        });

    /// <summary>adaptive_avg_pool{r}d.</summary>
    public static OpDescriptor<AvgPool> AdaptiveDescriptor { get; } = Described("adaptive_avg_pool{r}d", [PoolingWindows.OutputSizeAttribute],
        a => Adaptive(a.Rank, a.Ints("output_size")),
        d => d.Case(Adaptive(d.Rank, [.. d.Spatial.Select(n => d.Int(1, n + 1))]), NamedTensors.Input(d.PoolInput(allowNan: true)), "adaptive"));

    /// <summary>global_avg_pool{r}d: libtorch's adaptive_avg_pool{r}d to size 1.</summary>
    public static OpDescriptor<AvgPool> GlobalDescriptor { get; } = Described("global_avg_pool{r}d", [],
        a => Global(a.Rank),
        d => d.Case(Global(d.Rank), NamedTensors.Input(d.PoolInput(allowNan: false)), "global"), drawWeight: 0.5, torchName: PoolingWindows.GlobalTorchName);

    private static OpDescriptor<AvgPool> Described(string name, OpAttribute[] attributes, Func<OpArguments, AvgPool> build, Func<CaseDraw, CheckCase> draw, double drawWeight = 1,
        Func<string, string>? torchName = null) => new()
    {
        Name = name,
        Inputs = [new("input")],
        Attributes = attributes,
        Build = build,
        Invariants = [PoolingInvariants.SumPreserved, PoolingInvariants.Euler, EvenSpread],
        TorchCall = a => a.Windows.TorchEquivalent(a.Name, a.Attributes),
        KnownBugs = Bugs,
        DrawCase = draw,
        DrawWeight = drawWeight,
        TorchName = torchName ?? (n => n),
    };

    private static IEnumerable<BugHypothesis> Bugs(AvgPool a, NamedTensors inputs, Tensor dy)
    {
        var x = inputs["input"];
        bool strided = a.kind == "avg_pool";
        if (strided)
            yield return BugHypothesis.InWholeAnswer($"output: divisor {(a.CountIncludePad ? "excludes" : "counts")} the padding: count_include_pad={(!a.CountIncludePad ? "True" : "False")} semantics where {(a.CountIncludePad ? "True" : "False")} was asked",
                () => OpFactory.TryWith(a, inputs.Names, ("count_include_pad", !a.CountIncludePad)) is { } v ? OpResult.Of(v, inputs, dy) : null);
        var g = a.Windows.For(x.Shape);
        var typical = Enumerable.Range(0, g.OutputPlaneSize).Select(o => a.Divisor(g, o)).GroupBy(d => d).OrderByDescending(d => d.Count()).First().Key;
        if (strided)
            yield return BugHypothesis.InTensor("grads.input", "mean-pool gradient copied to every window cell instead of divided by the divisor: " +
                $"{Tensor.FormatNumber(typical)}x too large (the window holds {Tensor.FormatNumber(typical)} cells)",
                () => OpFactory.TryWith(a, inputs.Names, ("divisor_override", 1))?.Backward(inputs, dy)["input"]);
        else
            yield return BugHypothesis.InTensor("grads.input", "mean-pool gradient copied to every window cell instead of divided", () => a.Backward(inputs, dy)["input"].Scaled(typical));
        if (g.WindowsOverlap)
            yield return BugHypothesis.InTensor("grads.input", "overlapping windows overwrite each other's gradient instead of accumulating", () => a.Overwriting(x, dy));
    }

    /// <summary>The backward with overlapping windows overwriting each other (a known bug).</summary>
    private Tensor Overwriting(Tensor x, Tensor dy)
    {
        var g = Windows.For(x.Shape);
        int planes = x.Shape[0] * x.Shape[1];
        var dx = new double[x.Count];
        var taps = new int[g.MaxWindowSize];
        var kt = new int[g.MaxWindowSize];
        for (int p = 0; p < planes; p++)
            for (int o = 0; o < g.OutputPlaneSize; o++)
            {
                int n = g.Gather(o, taps, kt);
                for (int i = 0; i < n; i++) dx[p * g.InputPlaneSize + taps[i]] = dy.At(p * g.OutputPlaneSize + o) / Divisor(g, o);
            }
        return Tensor.FromArray(x.Shape, dx);
    }

    /// <summary>The window layout.</summary>
    public PoolingWindows Windows { get; }

    /// <inheritdoc/>
    public string OutputShapeRule(NamedTensors inputs) => $"(N, C, *output size), {Windows.SizeRule(inputs["input"].Shape.Slice(2))}";

    /// <summary>Whether padded cells count in the divisor.</summary>
    public bool CountIncludePad { get; }

    /// <summary>A fixed divisor replacing the window count, when set.</summary>
    public int? DivisorOverride { get; }

    /// <inheritdoc/>
    public string Name => $"{kind}{Windows.Rank}d";

    /// <inheritdoc/>
    public OpAttributes Attributes => kind == "avg_pool"
        ? Windows.Attributes.With(("count_include_pad", CountIncludePad), ("divisor_override", DivisorOverride))
        : Windows.Attributes;

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    /// <summary>The divisor of window <paramref name="outputIndex"/> (flat in the output plane).</summary>
    public double Divisor(WindowGeometry g, int outputIndex) =>
        DivisorOverride ?? (CountIncludePad ? g.PaddedWindowSize(outputIndex) : g.InBoundsWindowSize(outputIndex));

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs) => Forward(inputs, null);

    /// <inheritdoc cref="IForwardInto.Forward"/>
    public Tensor Forward(NamedTensors inputs, double[]? output)
    {
        var input = inputs["input"];
        var (g, planes, outShape) = Windows.Begin(input);
        var y = Tensor.OutputArray(outShape, output);
        var (windows, divisors) = WindowsOf(g);
        windows.ForEachPlane(planes, p =>
        {
            var plane = input.Span.Slice(p * g.InputPlaneSize, g.InputPlaneSize);
            for (int o = 0; o < g.OutputPlaneSize; o++)
            {
                double sum = 0;
                foreach (int t in windows[o]) sum += plane[t];
                y[p * g.OutputPlaneSize + o] = sum / divisors[o];
            }
        });
        return Tensor.Wrap(outShape, y);
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var input = inputs["input"];
        var (g, planes, _) = Windows.Begin(input, gradOutput);
        var dx = new double[input.Count];
        var (windows, divisors) = WindowsOf(g);
        windows.ForEachPlane(planes, p =>
        {
            var dy = gradOutput.Span;
            var dplane = dx.AsSpan(p * g.InputPlaneSize, g.InputPlaneSize);
            for (int o = 0; o < g.OutputPlaneSize; o++)
            {
                double share = dy[p * g.OutputPlaneSize + o] / divisors[o];
                foreach (int t in windows[o]) dplane[t] += share;
            }
        });
        return NamedTensors.Input(Tensor.Wrap(input.Shape, dx));
    }

    /// <summary>The pass's windows, and each one's divisor.</summary>
    private (PlaneWindows Windows, double[] Divisors) WindowsOf(WindowGeometry g) =>
        (PlaneWindows.Of(g), [.. Enumerable.Range(0, g.OutputPlaneSize).Select(o => Divisor(g, o))]);

    /// <inheritdoc/>
    public bool IsSmooth => true; // no max, no threshold: differentiable at every finite input

    /// <inheritdoc/>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput) => Magnitudes.Multilinear(this, inputs, gradOutput);

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) => Windows.Structure(inputs["input"].Shape);

    /// <inheritdoc/>
    public InvariantReport CheckInvariants(NamedTensors inputs, Tensor gradOutput, NamedTensors gradients)
        => InvariantsOf(this, inputs["input"], gradOutput, gradients["input"]);

    /// <summary>Name: global average pooling spreads dy evenly.</summary>
    public const string EvenSpread = "dx = dy / spatial size everywhere";

    /// <summary>Average pooling: sum(dx) = Σ dy·(in-bounds count / divisor); global pooling also dx = dy/size everywhere; PoolingInvariants.Euler's identity.</summary>
    private static InvariantReport InvariantsOf(AvgPool op, Tensor input, Tensor gradOutput, Tensor gradInput)
    {
        var r = new InvariantReport.Builder();
        var g = op.Windows.For(input.Shape);
        if (!PoolingInvariants.ShapesFit(r, input, gradInput, gradOutput, PoolingWindows.OutputShape(input.Shape, g))) return r.Build();
        var dx = gradInput.ToArray(); var dy = gradOutput.ToArray();
        int planes = input.Shape[0] * input.Shape[1];
        double expected = 0, copied = 0, magnitude = 0;
        var divisors = new HashSet<double>();
        for (int o = 0; o < g.OutputPlaneSize; o++)
        {
            double divisor = op.Divisor(g, o), cells = g.InBoundsWindowSize(o);
            divisors.Add(divisor);
            for (int p = 0; p < planes; p++)
            {
                double w = dy[p * g.OutputPlaneSize + o];
                expected += w * cells / divisor;
                copied += w * cells;
                magnitude += Math.Abs(w * cells / divisor) + Math.Abs(w);
            }
        }
        r.SumsAgree(PoolingInvariants.SumPreserved, PoolingInvariants.Sum(dx), expected, magnitude, dx.Length + dy.Length, actual =>
            Math.Abs(actual - copied) <= Tolerance.SumRounding(dx.Length + dy.Length, magnitude * Math.Max(1, divisors.Max()))
                ? (divisors.Count == 1
                    ? $"mean-pool gradient copied to every window cell instead of divided by {divisors.First():R}: {divisors.First():R}x too large"
                    : "mean-pool gradient copied to every window cell instead of divided by each window's divisor")
                : "");

        if (op.Name.StartsWith("global_", StringComparison.Ordinal))
        {
            int size = g.InputPlaneSize;
            int bad = Enumerable.Range(0, dx.Length).FirstOrDefault(i => !Tolerance.WithinUlps(dx[i], dy[i / size] / size), -1);
            if (bad < 0) r.Checked(EvenSpread);
            else r.Violated(EvenSpread, $"input{PoolingInvariants.Coords(input.Shape, bad)} gets {Tensor.FormatNumber(dx[bad])}, dy/size = {Tensor.FormatNumber(dy[bad / size])}/{size} = {Tensor.FormatNumber(dy[bad / size] / size)}");
        }
        PoolingInvariants.EulerIdentity(r, input, gradInput, gradOutput, op.Forward(NamedTensors.Input(input)));
        return r.Build();
    }
}
