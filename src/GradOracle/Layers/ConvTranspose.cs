using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// Transposed convolution in spatial ranks 1 to 3, as torch.nn.functional.conv_transpose{r}d defines it: the adjoint
/// of convolution with the same stride, padding, dilation and groups. Input (N, C_in, *), weight (C_in, C_out/groups, *k),
/// bias (C_out). Each input element scatters x·w to the output positions j = i·stride - padding + t·dilation (t the tap)
/// inside an output of (in - 1)·stride - 2·padding + dilation·(k - 1) + output_padding + 1, the output_padding rows added
/// at the end. Backward: grad_input is the plain convolution of grad_output with the same weight (no flip), grad_weight
/// correlates input with grad_output summed over the batch, grad_bias sums grad_output over batch and space.
/// </summary>
public sealed class ConvTranspose : IOp, IHasJacobianStructure, IHasMagnitudes, IExplainsOutputShape
{
    private readonly int[] stride, padding, outputPadding, dilation;
    // Where output position 0 falls: padding in PyTorch's op; padding - output_padding for the bug that adds the rows in front.
    private readonly int[] offset;

    private ConvTranspose(int rank, int[] stride, int[] padding, int[] outputPadding, int[] dilation, int groups, bool bias, int[] offset)
    {
        Rank = rank;
        (this.stride, this.padding, this.outputPadding, this.dilation, this.offset) = (stride, padding, outputPadding, dilation, offset);
        Groups = groups;
        HasBias = bias;
        DifferentiableInputs = bias ? ["input", "weight", "bias"] : ["input", "weight"];
    }

    /// <summary>conv_transpose{r}d with PyTorch's parameters and defaults (stride 1, padding 0, output_padding 0, dilation 1, groups 1).</summary>
    public static ConvTranspose Create(int rank, int[]? stride = null, int[]? padding = null, int[]? outputPadding = null, int[]? dilation = null, int groups = 1, bool bias = true)
    {
        PoolingWindows.CheckRank(rank);
        var s = PoolingWindows.Expand("stride", stride ?? [1], rank, 1);
        var p = PoolingWindows.Expand("padding", padding ?? [0], rank, 0);
        var op = PoolingWindows.Expand("output_padding", outputPadding ?? [0], rank, 0);
        var d = PoolingWindows.Expand("dilation", dilation ?? [1], rank, 1);
        for (int i = 0; i < rank; i++)
            if (op[i] >= s[i] && op[i] >= d[i])
                throw new ParameterException("output_padding", PoolingWindows.Show(op),
                    $"must be smaller than stride or dilation along each spatial dimension (dimension {i}: output_padding {op[i]}, stride {s[i]}, dilation {d[i]})");
        if (groups < 1) throw new ParameterException("groups", groups.ToString(), "must be at least 1");
        return new ConvTranspose(rank, s, p, op, d, groups, bias, p);
    }

    /// <summary>conv_transpose{r}d.</summary>
    public static OpDescriptor<ConvTranspose> Descriptor { get; } = new()
    {
        Name = "conv_transpose{r}d",
        Inputs = [new("input"), new("weight"), new("bias", Optional: true)],
        Attributes =
        [
            new("stride", "a positive integer or one per spatial dimension", "1"),
            new("padding", "a non-negative integer or one per spatial dimension (the rows cropped from each side of the output)", "0"),
            new("output_padding", "a non-negative integer or one per spatial dimension, smaller than stride or dilation (rows added at the output's end)", "0"),
            new("groups", "a positive integer dividing in_channels", "1"),
            new("dilation", "a positive integer or one per spatial dimension", "1"),
        ],
        Build = a => Create(a.Rank, a.Ints("stride", [1]), a.Ints("padding", [0]), a.Ints("output_padding", [0]), a.Ints("dilation", [1]), a.Int("groups", 1), a.Has("bias")),
        KnownBugs = Bugs,
        Examples = () =>
        [
            Example(Create(1), Shape.Of(1, 2, 5), Shape.Of(2, 3, 3), 435, "basic"),
            Example(Create(1, stride: [2], padding: [1], outputPadding: [1]), Shape.Of(2, 1, 4), Shape.Of(1, 2, 3), 436, "output-padding"),
            Example(Create(1, stride: [3], dilation: [2], groups: 2), Shape.Of(2, 4, 4), Shape.Of(4, 1, 2), 432, "groups", "dilation"),
            Example(Create(2, stride: [2], padding: [1], outputPadding: [1]), Shape.Of(1, 2, 3, 3), Shape.Of(2, 2, 3, 3), 431, "output-padding"),
            Example(Create(2, stride: [1], dilation: [3], outputPadding: [2]), Shape.Of(1, 1, 3, 2), Shape.Of(1, 1, 2, 2), 434, "output-padding-dilation"),
            Example(Create(2, stride: [2, 1], padding: [1, 0], groups: 2), Shape.Of(1, 4, 3, 3), Shape.Of(4, 1, 2, 3), 437, "groups", "padding"),
            Example(Create(3), Shape.Of(1, 1, 2, 2, 2), Shape.Of(1, 2, 2, 2, 2), 438, "basic"),
            Example(Create(3, stride: [2, 1, 2], padding: [0, 1, 1], outputPadding: [1, 0, 0], bias: false), Shape.Of(1, 1, 2, 3, 2), Shape.Of(1, 2, 2, 3, 2), 433, "output-padding", "no-bias"),
            Example(Create(3, dilation: [2, 1, 1], groups: 2), Shape.Of(1, 2, 2, 2, 2), Shape.Of(2, 1, 2, 2, 2), 439, "groups", "dilation"),
        ],
        DrawCase = d =>
        {
            int groups = d.ChannelsFixed ? 1 : d.Int(1, 2), cin = d.ChannelsFixed ? d.Channels : groups * d.Int(1, 2), cout = d.ChannelsFixed ? d.Channels : groups * d.Int(1, 2);
            var inSizes = d.Spatial.Select(n => Math.Min(n, d.Rank == 3 ? 3 : 5)).ToArray();
            var k = inSizes.Select(_ => d.Int(1, 3)).ToArray();
            var s = d.Ints(d.Rank, 1, 2);
            var dilation = d.Dilation();
            var p = k.Select((kk, i) => d.Int(0, dilation[i] * (kk - 1) / 2)).ToArray();
            var op = d.OneIn(3) ? s.Select((ss, i) => d.Int(0, Math.Max(ss, dilation[i]) - 1)).ToArray() : new int[d.Rank];
            bool bias = d.Rng.Next(3) > 0;
            if (groups > 1) d.Exercises("groups");
            if (op.Any(v => v > 0)) d.Exercises("output-padding");
            if (p.Any(v => v > 0)) d.Exercises("padding");
            var c = Create(d.Rank, s, p, op, dilation, groups, bias);
            return d.Case(c, Inputs(c, Shape.Of([d.Batch, cin, .. inSizes]), Shape.Of([cin, cout / groups, .. k]), d.DataSeed));
        },
        DrawWeight = 0.25,
    };

    private static CheckCase Example(ConvTranspose c, Shape input, Shape weight, int seed, params string[] exercises) => new(c, Inputs(c, input, weight, seed), exercises);

    private static NamedTensors Inputs(ConvTranspose c, Shape input, Shape weight, int seed)
    {
        var inputs = new List<(string, Tensor)> { ("input", Samples.Distinct(input, seed)), ("weight", Samples.Scaled(weight, seed + 1, 0.5)) };
        if (c.HasBias) inputs.Add(("bias", Samples.Scaled(Shape.Of(weight[1] * c.Groups), seed + 2, 0.5)));
        return new NamedTensors([.. inputs]);
    }

    private static IEnumerable<BugHypothesis> Bugs(ConvTranspose c, NamedTensors inputs, Tensor dy)
    {
        if (c.outputPadding.Any(v => v > 0))
            yield return BugHypothesis.InWholeAnswer($"output: output_padding {PoolingWindows.Show(c.outputPadding)} added at the start of each dimension instead of the end",
                () => OpResult.Of(new ConvTranspose(c.Rank, c.stride, c.padding, c.outputPadding, c.dilation, c.Groups, c.HasBias,
                    c.padding.Select((p, i) => p - c.outputPadding[i]).ToArray()), inputs, dy));
        yield return BugHypothesis.InWholeAnswer("output: kernel not flipped (the zero-upsampled input correlated with the kernel as stored; conv_transpose needs it rotated by 180 degrees)", () =>
        {
            // An implementation consistent with that forward: the right op on the flipped kernel, its weight gradient flipped back.
            var flipped = inputs.With("weight", Convolution.Rotated(inputs["weight"]));
            var r = OpResult.Of(c, flipped, dy);
            return new OpResult(r.Output, r.Grads.With("weight", Convolution.Rotated(r.Grads["weight"])));
        });
        yield return BugHypothesis.InTensor("grads.input", "input gradient computed with the kernel rotated by 180 degrees (conv's grad_input rule; conv_transpose's grad_input is a plain convolution)",
            () => c.Backward(inputs.With("weight", Convolution.Rotated(inputs["weight"])), dy)["input"]);
        foreach (var b in BatchSumBugs.Of(c, inputs, dy, c.HasBias)) yield return b;
    }

    /// <summary>Spatial rank.</summary>
    public int Rank { get; }

    /// <summary>Channel groups.</summary>
    public int Groups { get; }

    /// <summary>Whether the op takes a bias.</summary>
    public bool HasBias { get; }

    /// <inheritdoc/>
    public string Name => $"conv_transpose{Rank}d";

    /// <inheritdoc/>
    public OpAttributes Attributes => new(("stride", stride), ("padding", padding), ("output_padding", outputPadding), ("groups", Groups), ("dilation", dilation));

    /// <summary>The attributes, and "bias=None" when the op takes no bias.</summary>
    public string AttributeText => Attributes + (HasBias ? "" : ", bias=None");

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; }

    /// <summary>
    /// One pass's shapes, and its products as (input position, tap, output position) triples, flat within the spatial
    /// planes, in input then tap order: every (i, t) whose output position j = i·stride - padding + t·dilation is inside.
    /// </summary>
    private sealed record Plan(Shape InputShape, Shape WeightShape, Shape OutputShape, int InPerGroup, int OutPerGroup, int InPlane, int OutPlane, int Taps,
        (int In, int Tap, int Out)[] Products);

    private Plan? last;

    private Plan Prepare(NamedTensors inputs)
    {
        var (x, w) = (inputs["input"], inputs["weight"]);
        if (last is { } l && l.InputShape == x.Shape && l.WeightShape == w.Shape && (!HasBias || inputs["bias"].Shape == Shape.Of(l.OutputShape[1])))
            return l;
        if (x.Shape.Rank != Rank + 2)
            throw new ParameterException("input.shape", x.Shape.ToString(), $"{Name} takes (N, C_in, {Dims("D")}): rank {Rank + 2}");
        if (w.Shape.Rank != Rank + 2)
            throw new ParameterException("weight.shape", w.Shape.ToString(), $"{Name} takes weight (C_in, C_out/groups, {Dims("K")}): rank {Rank + 2}");
        int cin = x.Shape[1];
        if (cin % Groups != 0)
            throw new ParameterException("groups", Groups.ToString(), $"must divide the input channels C_in = {cin}");
        if (w.Shape[0] != cin)
            throw new ParameterException("weight.shape", w.Shape.ToString(), $"dimension 0 must be C_in = {cin} (a transposed convolution's weight is (C_in, C_out/groups, *kernel))");
        int cout = w.Shape[1] * Groups;
        if (HasBias && inputs["bias"].Shape != Shape.Of(cout))
            throw new ParameterException("bias.shape", inputs["bias"].Shape.ToString(), $"must be (C_out) = (groups·weight.shape[1]) = ({cout})");
        var inSizes = x.Shape.Slice(2);
        var kernel = w.Shape.Slice(2);
        var outSizes = new int[Rank];
        for (int a = 0; a < Rank; a++)
        {
            outSizes[a] = OutputSize(inSizes[a], kernel[a], a);
            if (outSizes[a] < 1)
                throw new ParameterException("padding", PoolingWindows.Show(padding),
                    $"leaves no output along spatial dimension {a}: {SizeFormula(inSizes[a], kernel[a], a)}, and it must be positive");
        }
        var products = new List<(int, int, int)>();
        var (inShape, kShape, outShape) = (Shape.Of(inSizes), Shape.Of(kernel), Shape.Of(outSizes));
        var (ii, tt, jj) = (new int[Rank], new int[Rank], new int[Rank]);
        for (int i = 0; i < inShape.Count; i++)
            for (int t = 0; t < kShape.Count; t++)
            {
                Unflatten(inShape, i, ii);
                Unflatten(kShape, t, tt);
                bool inside = true;
                for (int a = 0; a < Rank && inside; a++)
                {
                    jj[a] = ii[a] * stride[a] - offset[a] + tt[a] * dilation[a];
                    inside = jj[a] >= 0 && jj[a] < outSizes[a];
                }
                if (inside) products.Add((i, t, outShape.FlatIndex(jj)));
            }
        var plan = new Plan(x.Shape, w.Shape, Shape.Of([x.Shape[0], cout, .. outSizes]), cin / Groups, w.Shape[1], inShape.Count, outShape.Count, kShape.Count, [.. products]);
        return last = plan;
    }

    private static void Unflatten(Shape shape, int flat, int[] coordinates)
    {
        for (int a = shape.Rank - 1; a >= 0; a--) { coordinates[a] = flat % shape[a]; flat /= shape[a]; }
    }

    private int OutputSize(int input, int kernel, int axis) =>
        (input - 1) * stride[axis] - 2 * padding[axis] + dilation[axis] * (kernel - 1) + outputPadding[axis] + 1;

    private string SizeFormula(int input, int kernel, int axis) =>
        $"({input} - 1)·{stride[axis]} - 2·{padding[axis]} + {dilation[axis]}·({kernel} - 1) + {outputPadding[axis]} + 1 = {OutputSize(input, kernel, axis)}";

    private string Dims(string letter) => string.Join(", ", Enumerable.Range(1, Rank).Select(i => letter + i));

    /// <summary>
    /// Per output, the bias, then input channel by input channel of its group, input position by position, tap by tap,
    /// <c>sum = fma(x, w, sum)</c>: the readable form, which the reference cases come from.
    /// </summary>
    public Tensor Forward(NamedTensors inputs)
    {
        var p = Prepare(inputs);
        ReadOnlySpan<double> x = inputs["input"].Span, w = inputs["weight"].Span;
        var y = new double[p.OutputShape.Count];
        int batch = p.InputShape[0], cout = p.OutputShape[1];
        for (int n = 0; n < batch; n++)
            for (int oc = 0; oc < cout; oc++)
            {
                var plane = y.AsSpan((n * cout + oc) * p.OutPlane, p.OutPlane);
                if (HasBias) plane.Fill(inputs["bias"].At(oc));
                int group = oc / p.OutPerGroup, ocl = oc % p.OutPerGroup;
                for (int icl = 0; icl < p.InPerGroup; icl++)
                {
                    int ic = group * p.InPerGroup + icl, xs = (n * p.InputShape[1] + ic) * p.InPlane, ws = (ic * p.OutPerGroup + ocl) * p.Taps;
                    foreach (var (i, t, j) in p.Products) plane[j] = Math.FusedMultiplyAdd(x[xs + i], w[ws + t], plane[j]);
                }
            }
        return Tensor.Wrap(p.OutputShape, y);
    }

    /// <summary>Every product of the forward, sending g·w to its input, g·x to its weight and g to its channel's bias.</summary>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var p = Prepare(inputs);
        Tensor.RequireShape("grad_output", gradOutput, p.OutputShape);
        ReadOnlySpan<double> x = inputs["input"].Span, w = inputs["weight"].Span, dy = gradOutput.Span;
        var (dx, dw) = (new double[x.Length], new double[w.Length]);
        int batch = p.InputShape[0], cout = p.OutputShape[1];
        var db = new double[cout];
        for (int n = 0; n < batch; n++)
            for (int oc = 0; oc < cout; oc++)
            {
                var g = dy.Slice((n * cout + oc) * p.OutPlane, p.OutPlane);
                foreach (var v in g) db[oc] += v;
                int group = oc / p.OutPerGroup, ocl = oc % p.OutPerGroup;
                for (int icl = 0; icl < p.InPerGroup; icl++)
                {
                    int ic = group * p.InPerGroup + icl, xs = (n * p.InputShape[1] + ic) * p.InPlane, ws = (ic * p.OutPerGroup + ocl) * p.Taps;
                    foreach (var (i, t, j) in p.Products)
                    {
                        dx[xs + i] += g[j] * w[ws + t];
                        dw[ws + t] += g[j] * x[xs + i];
                    }
                }
            }
        var grads = new List<(string, Tensor)> { ("input", Tensor.Wrap(p.InputShape, dx)), ("weight", Tensor.Wrap(p.WeightShape, dw)) };
        if (HasBias) grads.Add(("bias", Tensor.Wrap(Shape.Of(cout), db)));
        return new NamedTensors([.. grads]);
    }

    /// <inheritdoc/>
    public bool IsSmooth => true; // sums of products: differentiable at every finite input

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape)
    {
        var p = Prepare(inputs);
        int cout = p.OutputShape[1], perOut = p.OutPerGroup * p.Taps;
        return input switch
        {
            // Colour (icl, t): weight[group·ipg + icl, ocl, t] reaches output channel group·opg + ocl only, one per channel.
            "weight" => JacobianStructure.ByPlane(p.InPerGroup * p.Taps, e => e / perOut % p.InPerGroup * p.Taps + e % p.Taps, p.OutPlane,
                (q, k) => ((q % cout / p.OutPerGroup * p.InPerGroup + k / p.Taps) * p.OutPerGroup + q % cout % p.OutPerGroup) * p.Taps + k % p.Taps, sameRanks: true),
            "bias" => JacobianStructure.ByPlane(1, _ => 0, p.OutPlane, (q, _) => q % cout),
            _ => null, // the input's windows overlap in the output: moved one element at a time
        };
    }

    /// <inheritdoc/>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput) => Magnitudes.Multilinear(this, inputs, gradOutput);

    /// <inheritdoc/>
    public string OutputShapeRule(NamedTensors inputs)
    {
        var (x, w) = (inputs["input"], inputs["weight"]);
        var parts = Enumerable.Range(0, Rank).Select(a => $"dimension {a + 2}: {SizeFormula(x.Shape[a + 2], w.Shape[a + 2], a)}");
        return $"(N, C_out = groups·weight.shape[1] = {Groups * w.Shape[1]}, *output size), (in - 1)·stride - 2·padding + dilation·(kernel_size - 1) + output_padding + 1 " +
               $"per spatial dimension: {string.Join("; ", parts)}";
    }
}
