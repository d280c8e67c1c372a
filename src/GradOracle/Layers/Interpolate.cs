using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// interpolate (upsampling and downsampling) as torch.nn.functional and libtorch's CPU kernels compute it, separable over
/// the spatial dimensions: each output coordinate reads a few input taps with weights (<see cref="InterpolationAxis"/>),
/// the output is Σ Π weights · x over the taps, and the backward scatters dy with the same weights. Modes: nearest,
/// nearest-exact (any rank), linear, bilinear, trilinear (rank 1, 2, 3), bicubic (rank 2). The output size is size, or
/// floor(in · scale_factor); with scale_factor and recompute_scale_factor false the coordinates use 1/scale_factor, else
/// in/out. Linear in the input, so smooth.
/// </summary>
public sealed class Interpolate : IOp, IHasInvariants, IHasMagnitudes, IExplainsOutputShape
{
    /// <summary>The modes, by PyTorch's names, and the spatial rank each needs (0: any).</summary>
    public static IReadOnlyDictionary<string, int> Modes { get; } = new Dictionary<string, int>
    {
        ["nearest"] = 0, ["nearest-exact"] = 0, ["linear"] = 1, ["bilinear"] = 2, ["bicubic"] = 2, ["trilinear"] = 3,
    };

    /// <summary>interpolate with PyTorch's parameters; exactly one of <paramref name="size"/> and <paramref name="scaleFactor"/>.</summary>
    public Interpolate(string mode = "nearest", int[]? size = null, double[]? scaleFactor = null, bool? alignCorners = null, bool? recomputeScaleFactor = null)
    {
        if (!Modes.ContainsKey(mode))
            throw new ParameterException("mode", $"'{mode}'", $"must be one of {string.Join(", ", Modes.Keys)}");
        if (size is null && scaleFactor is null)
            throw new ParameterException("size", "None", "exactly one of size and scale_factor must be given, and scale_factor is None too (PyTorch: either size or scale_factor should be defined)");
        if (size is not null && scaleFactor is not null)
            throw new ParameterException("scale_factor", $"[{string.Join(", ", scaleFactor.Select(Tensor.FormatNumber))}]",
                "exactly one of size and scale_factor must be given, and size is given too (PyTorch: only one of size or scale_factor should be defined)");
        if (alignCorners is not null && !Interpolating(mode))
            throw new ParameterException("align_corners", alignCorners.Value ? "True" : "False",
                "can only be set with the interpolating modes linear, bilinear, bicubic, trilinear (PyTorch's rule)");
        if (recomputeScaleFactor is not null && size is not null)
            throw new ParameterException("recompute_scale_factor", recomputeScaleFactor.Value ? "True" : "False", "is not meaningful with an explicit size (PyTorch's rule)");
        if (size?.Any(s => s < 1) == true)
            throw new ParameterException("size", OpAttributes.Format(size), "every output size must be at least 1");
        if (scaleFactor?.Any(s => !(s > 0) || double.IsInfinity(s)) == true)
            throw new ParameterException("scale_factor", $"[{string.Join(", ", scaleFactor.Select(Tensor.FormatNumber))}]", "every scale factor must be a positive finite number");
        Mode = mode;
        Size = size;
        ScaleFactor = scaleFactor;
        AlignCorners = alignCorners;
        RecomputeScaleFactor = recomputeScaleFactor;
    }

    /// <summary>interpolate.</summary>
    public static OpDescriptor<Interpolate> Descriptor { get; } = new()
    {
        Name = "interpolate",
        Inputs = [new("input")],
        Attributes =
        [
            new("mode", "nearest, nearest-exact, linear (3-d input), bilinear or bicubic (4-d), trilinear (5-d)", "'nearest'"),
            new("size", "the output's spatial size: a positive integer or one per spatial dimension", "None"),
            new("scale_factor", "a positive number or one per spatial dimension: output size floor(in · scale_factor)", "None"),
            new("align_corners", "true or false, interpolating modes only: corner centres aligned", "None (False)"),
            new("recompute_scale_factor", "true or false, with scale_factor only: coordinates from in/out instead of 1/scale_factor", "None (False)"),
        ],
        Build = a => new Interpolate(a.Choice("mode", "nearest", Modes.Keys, mode => mode), a.OptionalInts("size"), a.OptionalDoubles("scale_factor"), a.OptionalBool("align_corners"), a.OptionalBool("recompute_scale_factor")),
        Invariants = [SumPreserved, PoolingInvariants.Euler],
        KnownBugs = InterpolateBugs.Of,
        Examples = () =>
        [
            Example(new("nearest", scaleFactor: [2]), Shape.Of(1, 2, 3, 3), 541, "nearest", "scale-factor"),
            Example(new("nearest", size: [3]), Shape.Of(2, 2, 5), 542, "nearest", "downsample"),
            Example(new("nearest-exact", scaleFactor: [1.5]), Shape.Of(1, 2, 4), 543, "nearest-exact", "scale-factor"),
            Example(new("bilinear", size: [5, 7], alignCorners: true), Shape.Of(1, 2, 3, 4), 544, "bilinear", "align-corners"),
            Example(new("bilinear", scaleFactor: [0.5], alignCorners: false), Shape.Of(1, 1, 4, 6), 545, "bilinear", "downsample"),
            Example(new("bicubic", scaleFactor: [2]), Shape.Of(1, 1, 3, 4), 546, "bicubic", "borders"),
            Example(new("bicubic", size: [4, 3], alignCorners: true), Shape.Of(1, 2, 3, 5), 547, "bicubic", "align-corners"),
            Example(new("trilinear", size: [3, 4, 2]), Shape.Of(1, 1, 2, 3, 3), 548, "trilinear"),
            Example(new("linear", scaleFactor: [1.5], recomputeScaleFactor: false), Shape.Of(1, 2, 5), 549, "linear", "scale-factor"),
            Example(new("linear", scaleFactor: [1.5], recomputeScaleFactor: true), Shape.Of(1, 2, 5), 549, "linear", "recompute-scale-factor"),
        ],
        DrawCase = d =>
        {
            string[] modes = d.Rank switch { 1 => ["nearest", "nearest-exact", "linear"], 2 => ["nearest", "nearest-exact", "bilinear", "bicubic"], _ => ["nearest", "nearest-exact", "trilinear"] };
            var x = Samples.Distinct(d.ChannelsFirst(d.Batch, d.Channels), d.DataSeed);
            for (int attempt = 0; ; attempt++)
            {
                string mode = modes[d.Rng.Next(modes.Length)];
                bool bySize = d.OneIn(2);
                double[] factors = [0.5, 0.75, 1.5, 2, 2.5, 3];
                int[]? size = bySize ? [.. d.Spatial.Select(n => d.Int(1, 2 * n + 1))] : null;
                double[]? scale = bySize ? null : d.OneIn(2) ? [factors[d.Rng.Next(factors.Length)]] : [.. d.Spatial.Select(_ => factors[d.Rng.Next(factors.Length)])];
                bool? align = Interpolating(mode) && !d.OneIn(3) ? d.OneIn(2) : null;
                bool? recompute = scale is not null && d.OneIn(2) ? d.OneIn(2) : null;
                if (scale is not null && d.Spatial.Zip(Expand("scale_factor", scale, d.Rank)).Any(p => Math.Floor(p.First * p.Second) < 1)) continue;
                var op = new Interpolate(mode, size, scale, align, recompute);
                // Where float32 and exact arithmetic pick different nearest indices the answer is libtorch's rounding, not a rule: not drawn.
                if (InterpolateBugs.NearestRoundingMatters(op, x))
                {
                    if (attempt < 20) continue;
                    (op, bySize) = (new Interpolate(mode, [.. d.Spatial.Select(n => 2 * n)]), true);
                }
                string[] flags = [mode, bySize ? "size" : "scale-factor", .. align == true ? new[] { "align-corners" } : []];
                return d.Case(op, NamedTensors.Input(x), flags);
            }
        },
        DrawWeight = 0.25,
    };

    private static CheckCase Example(Interpolate op, Shape shape, int seed, params string[] exercises) => new(op, NamedTensors.Input(Samples.Distinct(shape, seed)), exercises);

    private static bool Interpolating(string mode) => mode is "linear" or "bilinear" or "bicubic" or "trilinear";

    /// <summary>The mode.</summary>
    public string Mode { get; }

    /// <summary>The output's spatial size (one value, or one per spatial dimension); null when scale_factor is given.</summary>
    public int[]? Size { get; }

    /// <summary>The scale factor (one value, or one per spatial dimension); null when size is given.</summary>
    public double[]? ScaleFactor { get; }

    /// <summary>Corner pixels' centres aligned (interpolating modes; null: PyTorch's default, false).</summary>
    public bool? AlignCorners { get; }

    /// <summary>Whether the coordinates use in/out rather than the given scale factor (null: false).</summary>
    public bool? RecomputeScaleFactor { get; }

    /// <inheritdoc/>
    public string Name => "interpolate";

    /// <inheritdoc/>
    public OpAttributes Attributes => new(("mode", Mode), ("size", Size), ("scale_factor", ScaleFactor), ("align_corners", AlignCorners),
        ("recompute_scale_factor", RecomputeScaleFactor));

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    /// <summary>Each spatial dimension's taps for an input of this shape; the rank and sizes checked against the mode.</summary>
    internal InterpolationAxis[] Axes(Shape inputShape, InterpolationRule? rule = null)
    {
        int rank = inputShape.Rank - 2;
        if (rank is < 1 or > 3)
            throw new ParameterException("input.shape", inputShape.ToString(), "interpolate takes (N, C, *) with 1 to 3 spatial dimensions");
        if (Modes[Mode] is > 0 and var needs && needs != rank)
            throw new ParameterException("input.shape", inputShape.ToString(), $"{Mode} needs {needs + 2}-d input, (N, C) and {needs} spatial dimension(s); this has {rank + 2}");
        int[]? size = Size is null ? null : Expand("size", Size, rank);
        double[]? scale = ScaleFactor is null ? null : Expand("scale_factor", ScaleFactor, rank);
        var axes = new InterpolationAxis[rank];
        for (int a = 0; a < rank; a++)
        {
            int input = inputShape[a + 2];
            // PyTorch: floor(float(in) · scale), refused below 1.
            int output = size?[a] ?? (int)Math.Floor(input * scale![a]);
            if (output < 1)
                throw new ParameterException("scale_factor", Tensor.FormatNumber(scale![a]), $"gives an output size floor({input}·{Tensor.FormatNumber(scale[a])}) = {output} in dimension {a + 2}; it must be at least 1");
            double? given = scale is not null && RecomputeScaleFactor != true ? scale[a] : null;
            axes[a] = InterpolationAxis.For(rule ?? Rule, input, output, given);
        }
        return axes;
    }

    /// <summary>This op's coordinate rule.</summary>
    internal InterpolationRule Rule => new(Mode, AlignCorners == true);

    private static T[] Expand<T>(string name, T[] values, int rank) =>
        values.Length == 1 ? [.. Enumerable.Repeat(values[0], rank)]
        : values.Length == rank ? values
        : throw new ParameterException(name, $"[{string.Join(", ", values)}]", $"needs 1 or {rank} values for {rank} spatial dimension(s)");

    /// <inheritdoc/>
    public string OutputShapeRule(NamedTensors inputs) => Size is not null
        ? "(N, C, *size)"
        : "(N, C, *floor(in · scale_factor)) per spatial dimension";

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs) => Pass(inputs, null, Rule, absolute: false, output: true).Y!;

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput) => NamedTensors.Input(Pass(inputs, gradOutput, Rule, absolute: false, output: false).Dx!);

    /// <summary>Forward and, given dy, backward under a coordinate rule; with <paramref name="absolute"/> of |x|, |w| and |dy| (the magnitudes).</summary>
    internal OpResult Result(NamedTensors inputs, Tensor? gradOutput, InterpolationRule rule, bool absolute)
    {
        var (y, dx) = Pass(inputs, gradOutput, rule, absolute, output: true);
        return new OpResult(y!, NamedTensors.Input(dx ?? Tensor.Zeros(inputs["input"].Shape)));
    }

    /// <summary><see cref="Result"/>'s output (unless not <paramref name="output"/>) and input gradient (given dy).</summary>
    private (Tensor? Y, Tensor? Dx) Pass(NamedTensors inputs, Tensor? gradOutput, InterpolationRule rule, bool absolute, bool output)
    {
        var x = inputs["input"];
        var axes = Axes(x.Shape, rule);
        var outShape = Shape.Of([x.Shape[0], x.Shape[1], .. axes.Select(a => a.OutputSize)]);
        if (gradOutput is not null) Tensor.RequireShape("grad_output", gradOutput, outShape);
        int planes = x.Shape[0] * x.Shape[1], inPlane = x.Count / Math.Max(planes, 1), outPlane = outShape.Count / Math.Max(planes, 1);
        var y = output ? new double[outShape.Count] : [];
        var dx = gradOutput is null ? [] : new double[x.Count];
        var inStrides = Strides(axes.Select(a => a.InputSize).ToArray());
        var outStrides = Strides(axes.Select(a => a.OutputSize).ToArray());
        double W(double w) => absolute ? Math.Abs(w) : w;
        // Per axis, each output coordinate's taps, flat (a fixed count per axis): input index and weight.
        var counts = axes.Select(a => a.OutputSize == 0 ? 0 : a.Taps[0].Count).ToArray();
        var axisIndex = axes.Select(a => a.Taps.SelectMany(t => t.Select(u => u.Index)).ToArray()).ToArray();
        var axisWeight = axes.Select(a => a.Taps.SelectMany(t => t.Select(u => W(u.Weight))).ToArray()).ToArray();
        // An output's taps are every combination of one tap per axis, first axis outermost, the weight the product of the
        // axes' weights from 1 (1·w = w); flat per position, except in rank 2, whose products are cheaper than the arrays' reads.
        int count = counts.Aggregate(1, (c, n) => c * n);
        int[] index = [];
        double[] weight = [];
        if (axes.Length != 2)
        {
            (index, weight) = (new int[outPlane * count], new double[outPlane * count]);
            for (int o = 0; o < outPlane; o++)
            {
                var taps = new List<(int Index, double Weight)> { (0, 1) };
                for (int a = 0; a < axes.Length; a++)
                {
                    int coordinate = o / outStrides[a] % axes[a].OutputSize, at = coordinate * counts[a], stride = inStrides[a];
                    taps = [.. taps.SelectMany(t => Enumerable.Range(at, counts[a]).Select(j => (t.Index + axisIndex[a][j] * stride, t.Weight * axisWeight[a][j])))];
                }
                for (int j = 0; j < count; j++) (index[o * count + j], weight[o * count + j]) = taps[j];
            }
        }
        // Plane by plane, in parallel: within a plane, each output's taps in order, and dx's sums in the order of the loop
        // over positions, as a serial loop over (position, plane) adds them; no two planes share an element.
        Parallel.For(0, planes, p =>
        {
            var xs = x.Span.Slice(p * inPlane, inPlane);
            var ys = output ? y.AsSpan(p * outPlane, outPlane) : default;
            var gs = gradOutput is null ? default : gradOutput.Span.Slice(p * outPlane, outPlane);
            var dxs = gradOutput is null ? default : dx.AsSpan(p * inPlane, inPlane);
            if (axes.Length == 2)
            {
                Plane2d(xs, output ? ys : default, gs, gradOutput is null ? default : dxs, axes[0].OutputSize, axes[1].OutputSize, inStrides[0],
                    (axisIndex[0], axisWeight[0], counts[0]), (axisIndex[1], axisWeight[1], counts[1]), absolute);
                return;
            }
            if (output)
                for (int o = 0, k = 0; o < outPlane; o++)
                {
                    double sum = 0;
                    for (int j = 0; j < count; j++, k++) sum += weight[k] * (absolute ? Math.Abs(xs[index[k]]) : xs[index[k]]);
                    ys[o] = sum;
                }
            if (gradOutput is null) return;
            for (int o = 0, k = 0; o < outPlane; o++)
            {
                double g = absolute ? Math.Abs(gs[o]) : gs[o];
                for (int j = 0; j < count; j++, k++) dxs[index[k]] += weight[k] * g;
            }
        });
        return (output ? Tensor.Wrap(outShape, y) : null, gradOutput is null ? null : Tensor.Wrap(x.Shape, dx));
    }

    /// <summary>
    /// One plane in rank 2: output (oy, ox) adds w_y·w_x·x over its row taps, then column taps, from +0; dx gets w_y·w_x·g in
    /// the same order, position by position. The empty spans skip the forward or the backward.
    /// </summary>
    private static void Plane2d(ReadOnlySpan<double> x, Span<double> y, ReadOnlySpan<double> g, Span<double> dx, int outRows, int outCols, int inRow,
        (int[] Index, double[] Weight, int Count) rows, (int[] Index, double[] Weight, int Count) cols, bool absolute)
    {
        bool forward = !y.IsEmpty, backward = !dx.IsEmpty;
        for (int oy = 0, o = 0; oy < outRows; oy++)
            for (int ox = 0; ox < outCols; ox++, o++)
            {
                double sum = 0, grad = backward ? (absolute ? Math.Abs(g[o]) : g[o]) : 0;
                for (int jy = oy * rows.Count; jy < (oy + 1) * rows.Count; jy++)
                {
                    int row = rows.Index[jy] * inRow;
                    double wy = rows.Weight[jy];
                    for (int jx = ox * cols.Count; jx < (ox + 1) * cols.Count; jx++)
                    {
                        int i = row + cols.Index[jx];
                        double w = wy * cols.Weight[jx];
                        if (forward) sum += w * (absolute ? Math.Abs(x[i]) : x[i]);
                        if (backward) dx[i] += w * grad;
                    }
                }
                if (forward) y[o] = sum;
            }
    }

    private static int[] Strides(int[] sizes)
    {
        var s = new int[sizes.Length];
        for (int a = sizes.Length - 1, stride = 1; a >= 0; stride *= sizes[a], a--) s[a] = stride;
        return s;
    }

    /// <summary>Sums of |w·x| and of |w·dy|: bicubic's weights are signed.</summary>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput) => Result(inputs, gradOutput, Rule, absolute: true);

    /// <summary>Name: every output's weights sum to 1, so the gradient's total is dy's.</summary>
    public const string SumPreserved = "sum(dx) = sum(dy) (each output's weights sum to 1)";

    /// <inheritdoc/>
    public InvariantReport CheckInvariants(NamedTensors inputs, Tensor gradOutput, NamedTensors gradients)
    {
        var r = new InvariantReport.Builder();
        var (x, dx) = (inputs["input"], gradients["input"]);
        if (dx.Shape != x.Shape) { r.Violated(PoolingInvariants.ShapeMatches, $"dx is {dx.Shape}, the input {x.Shape}"); return r.Build(); }
        double total = 0, expected = 0, magnitude = 0;
        var m = MagnitudesOf(inputs, gradOutput).Grads["input"];
        for (int i = 0; i < dx.Count; i++) { total += dx.At(i); magnitude += m.At(i); }
        for (int j = 0; j < gradOutput.Count; j++) { expected += gradOutput.At(j); magnitude += Math.Abs(gradOutput.At(j)); }
        r.SumsAgree(SumPreserved, total, expected, magnitude, dx.Count + gradOutput.Count);
        PoolingInvariants.EulerIdentity(r, x, dx, gradOutput, Forward(inputs));
        return r.Build();
    }
}
