using GradOracle.Geometry;
using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// Convolution (cross-correlation, as every framework computes it) in spatial ranks 1 to 3, with stride,
/// padding, dilation, groups and optional bias. Input (N, C_in, *), weight (C_out, C_in/groups, *k),
/// bias (C_out). Backward: grad_input is the transposed convolution of grad_output with the same weights
/// (full correlation with the kernel rotated by 180 degrees), grad_weight correlates input with
/// grad_output summed over the batch, grad_bias sums grad_output over batch and space. Whether a loss
/// is a mean is the loss's business: nothing here divides by the batch size.
/// </summary>
public sealed class Convolution : IOp, IHasReferencePath, IForwardInto, IHasInvariants, IHasJacobianStructure, IHasMagnitudes, IExplainsOutputShape
{
    private readonly int[] stride, dilation;

    private Convolution(int rank, int[] stride, ConvPadding padding, int[] dilation, int groups, bool bias)
    {
        Rank = PoolingWindows.CheckRank(rank);
        this.stride = stride;
        Padding = padding;
        this.dilation = dilation;
        Groups = groups;
        HasBias = bias;
        DifferentiableInputs = bias ? ["input", "weight", "bias"] : ["input", "weight"];
    }

    /// <summary>convNd with PyTorch's parameters and defaults (stride 1, padding 0, dilation 1, groups 1).</summary>
    public static Convolution Create(int rank, int[]? stride = null, ConvPadding? padding = null, int[]? dilation = null, int groups = 1, bool bias = true)
    {
        PoolingWindows.CheckRank(rank);
        var s = PoolingWindows.Expand("stride", stride ?? [1], rank, 1);
        var d = PoolingWindows.Expand("dilation", dilation ?? [1], rank, 1);
        padding ??= ConvPadding.Of(0);
        if (padding.Kind == "explicit") padding.Resolve(rank, new int[rank], d); // validates the values now
        if (padding.Kind == "same" && s.Any(v => v != 1))
            throw new ParameterException("padding", "'same'", $"needs stride 1 (got stride {PoolingWindows.Show(s)}); PyTorch does not support 'same' for strided convolutions");
        if (groups < 1) throw new ParameterException("groups", groups.ToString(), "must be at least 1");
        return new Convolution(rank, s, padding, d, groups, bias);
    }

    /// <summary>conv{r}d.</summary>
    public static OpDescriptor<Convolution> Descriptor { get; } = new()
    {
        Name = "conv{r}d",
        Inputs = [new("input"), new("weight"), new("bias", Optional: true)],
        Attributes =
        [
            new("stride", "a positive integer or one per spatial dimension", "1"),
            new("padding", "a non-negative integer, one per spatial dimension, 'same' (stride 1 only) or 'valid'", "0"),
            new("dilation", "a positive integer or one per spatial dimension", "1"),
            new("groups", "a positive integer dividing in_channels and out_channels", "1"),
        ],
        Build = a => Create(a.Rank, a.Ints("stride", [1]), PaddingOf(a), a.Ints("dilation", [1]), a.Int("groups", 1), a.Has("bias")),
        Invariants = [BiasIsSumOfGradOutput],
        KnownBugs = Bugs,
        DrawCase = d =>
        {
            // An edge sweep's channel count is both sides' (a tile of output channels and a vector of input ones), ungrouped.
            int groups = d.ChannelsFixed ? 1 : d.Int(1, 3), cin = d.ChannelsFixed ? d.Channels : groups * d.Int(1, 2), cout = d.ChannelsFixed ? d.Channels : groups * d.Int(1, 2);
            var k = d.Spatial.Select(n => d.Int(1, Math.Min(3, n))).ToArray();
            var dilation = d.Dilation();
            int mode = d.Rng.Next(4);
            var s = mode == 0 ? d.Ints(d.Rank, 1, 1) : d.Ints(d.Rank, 1, 2);
            var padding = mode == 0 ? ConvPadding.Same : mode == 1 ? ConvPadding.Valid : ConvPadding.Of(d.Ints(d.Rank, 0, 2));
            bool bias = d.Rng.Next(3) > 0;
            var inputs = new List<(string, Tensor)>
            {
                ("input", Samples.Distinct(d.ChannelsFirst(d.Batch, cin), d.DataSeed)),
                ("weight", Samples.Scaled(Shape.Of([cout, cin / groups, .. k]), d.DataSeed + 1, 0.5)),
            };
            if (bias) inputs.Add(("bias", Samples.Scaled(Shape.Of(cout), d.DataSeed + 2, 0.5)));
            if (groups > 1) d.Exercises("groups");
            return d.Case(Create(d.Rank, s, padding, dilation, groups, bias), new NamedTensors([.. inputs]));
        },
    };

    private static ConvPadding PaddingOf(OpArguments a) => a.Get("padding") switch
    {
        null => ConvPadding.Of(0),
        "same" => ConvPadding.Same,
        "valid" => ConvPadding.Valid,
        int i => ConvPadding.Of(i),
        int[] v => ConvPadding.Of(v),
        var v => throw new ParameterException("padding", OpAttributes.Format(v), "must be an integer, a list of integers, 'same' or 'valid'"),
    };

    private static IEnumerable<BugHypothesis> Bugs(Convolution c, NamedTensors inputs, Tensor dy)
    {
        // The bug's answer equals the right one for the kernel flipped in every spatial dimension.
        yield return BugHypothesis.InTensor("grads.input", "convolution input gradient computed with the kernel not rotated by 180 degrees",
            () => c.Backward(inputs.With("weight", Rotated(inputs["weight"])), dy)["input"]);
        foreach (var b in BatchSumBugs.Of(c, inputs, dy, c.HasBias)) yield return b;
    }

    /// <summary>A weight (*, *, *kernel) with each kernel rotated by 180 degrees (reversed in every spatial dimension).</summary>
    internal static Tensor Rotated(Tensor w)
    {
        int volume = w.Shape.CountFrom(2);
        return Tensor.Create(w.Shape, i => w.At(i / volume * volume + volume - 1 - i % volume));
    }

    /// <summary>Spatial rank.</summary>
    public int Rank { get; }

    /// <summary>The padding rule.</summary>
    public ConvPadding Padding { get; }

    /// <summary>Channel groups.</summary>
    public int Groups { get; }

    /// <summary>Whether the op takes a bias.</summary>
    public bool HasBias { get; }

    /// <inheritdoc/>
    public string Name => $"conv{Rank}d";

    /// <inheritdoc/>
    public OpAttributes Attributes => new(("stride", stride), ("padding", Padding.Value(Rank)), ("dilation", dilation), ("groups", Groups));

    /// <summary>The attributes, and "bias=None" when the op takes no bias.</summary>
    public string AttributeText => Attributes + (HasBias ? "" : ", bias=None");

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; }

    /// <summary>Shapes and geometry of one pass, after checking every rule that relates input, weight and bias.</summary>
    internal sealed record Plan(WindowGeometry Geometry, int Batch, int InChannels, int OutChannels, int InPerGroup, int OutPerGroup, int KernelVolume,
        Shape OutputShape, Shape InputShape, Shape WeightShape, int Groups, bool HasBias)
    {
        /// <summary>The input distance between consecutive outputs of a run along the last axis: its stride.</summary>
        public required int InStep { get; init; }
    }

    // The last plan and its kernel, reused while the shapes stay the same (every pass of a gradient check).
    private (Plan Plan, ConvolutionKernel Kernel)? last;

    private (Plan Plan, ConvolutionKernel Kernel) Prepare(NamedTensors inputs)
    {
        var x = inputs["input"];
        var w = inputs["weight"];
        if (this.last is { } last && last.Plan.InputShape == x.Shape && last.Plan.WeightShape == w.Shape && (!HasBias || inputs["bias"].Shape == Shape.Of(last.Plan.OutChannels)))
            return last;
        if (x.Shape.Rank != Rank + 2)
            throw new ParameterException("input.shape", x.Shape.ToString(), $"conv{Rank}d takes (N, C_in, {Dims("D")}): rank {Rank + 2}");
        if (w.Shape.Rank != Rank + 2)
            throw new ParameterException("weight.shape", w.Shape.ToString(), $"conv{Rank}d takes weight (C_out, C_in/groups, {Dims("K")}): rank {Rank + 2}");
        int cin = x.Shape[1], cout = w.Shape[0];
        if (cin % Groups != 0)
            throw new ParameterException("groups", Groups.ToString(), $"must divide the input channels C_in = {cin}");
        if (cout % Groups != 0)
            throw new ParameterException("groups", Groups.ToString(), $"must divide the output channels C_out = weight.shape[0] = {cout}");
        if (w.Shape[1] != cin / Groups)
            throw new ParameterException("weight.shape", w.Shape.ToString(), $"dimension 1 must be C_in/groups = {cin}/{Groups} = {cin / Groups}");
        if (HasBias)
        {
            var b = inputs["bias"];
            if (b.Shape != Shape.Of(cout))
                throw new ParameterException("bias.shape", b.Shape.ToString(), $"must be (C_out) = ({cout})");
        }
        var kernel = w.Shape.Slice(2);
        var spatial = x.Shape.Slice(2);
        var pads = Padding.Resolve(Rank, kernel, dilation);
        var axes = new AxisWindows[Rank];
        for (int i = 0; i < Rank; i++)
        {
            int span = dilation[i] * (kernel[i] - 1) + 1, padded = spatial[i] + pads[i].Before + pads[i].After;
            if (span > padded)
                throw new ParameterException("weight.shape", w.Shape.ToString(),
                    $"kernel size {kernel[i]} with dilation {dilation[i]} spans {span} positions along spatial dimension {i}, more than the padded input ({padded})");
            axes[i] = AxisWindows.Strided(i, spatial[i], kernel[i], stride[i], pads[i].Before, pads[i].After, dilation[i], ceilMode: false);
        }
        var g = new WindowGeometry(axes);
        var outShape = Shape.Of(new[] { x.Shape[0], cout }.Concat(g.OutputSize).ToArray());
        var plan = new Plan(g, x.Shape[0], cin, cout, cin / Groups, cout / Groups, g.MaxWindowSize, outShape, x.Shape, w.Shape, Groups, HasBias)
        {
            InStep = stride[Rank - 1],
        };
        this.last = (plan, new ConvolutionKernel(plan));
        return this.last.Value;
    }

    private string Dims(string letter) => string.Join(", ", Enumerable.Range(1, Rank).Select(i => letter + i));

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs) => Forward(inputs, null);

    /// <inheritdoc cref="IForwardInto.Forward"/>
    public Tensor Forward(NamedTensors inputs, double[]? output) => Prepare(inputs).Kernel.Forward(inputs, output);

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var (p, kernel) = Prepare(inputs);
        Tensor.RequireShape("grad_output", gradOutput, p.OutputShape);
        return kernel.Backward(inputs, gradOutput);
    }

    /// <summary>
    /// The readable forward, the one the reference cases come from: per output, the bias, then input channel by input
    /// channel, tap by tap in window order, <c>sum = fma(w, x, sum)</c> (one rounding each); padding is no product.
    /// </summary>
    public Tensor ReferenceForward(NamedTensors inputs)
    {
        var (p, _) = Prepare(inputs);
        ReadOnlySpan<double> x = inputs["input"].Span, w = inputs["weight"].Span, b = HasBias ? inputs["bias"].Span : default;
        var g = p.Geometry;
        var y = new double[p.OutputShape.Count];
        var (ins, taps) = (new int[g.MaxWindowSize], new int[g.MaxWindowSize]);
        for (int n = 0; n < p.Batch; n++)
            for (int oc = 0; oc < p.OutChannels; oc++)
                for (int o = 0; o < g.OutputPlaneSize; o++)
                {
                    int count = g.Gather(o, ins, taps), firstIc = oc / p.OutPerGroup * p.InPerGroup;
                    double sum = HasBias ? b[oc] : 0;
                    for (int icl = 0; icl < p.InPerGroup; icl++)
                        for (int k = 0; k < count; k++)
                            sum = Math.FusedMultiplyAdd(w[(oc * p.InPerGroup + icl) * p.KernelVolume + taps[k]], x[(n * p.InChannels + firstIc + icl) * g.InputPlaneSize + ins[k]], sum);
                    y[(n * p.OutChannels + oc) * g.OutputPlaneSize + o] = sum;
                }
        return Tensor.Wrap(p.OutputShape, y);
    }

    /// <summary>
    /// The readable backward: one serial loop over the outputs in the forward's order, each sending g·w to its inputs and
    /// g·x to its weights, tap by tap, and g to its channel's bias (the full correlation with the rotated kernel, and the
    /// input correlated with grad_output, both summed over the batch).
    /// </summary>
    public NamedTensors ReferenceBackward(NamedTensors inputs, Tensor gradOutput)
    {
        var (p, _) = Prepare(inputs);
        Tensor.RequireShape("grad_output", gradOutput, p.OutputShape);
        ReadOnlySpan<double> x = inputs["input"].Span, w = inputs["weight"].Span, dy = gradOutput.Span;
        var g = p.Geometry;
        var (dx, dw, db) = (new double[x.Length], new double[w.Length], new double[p.OutChannels]);
        var (ins, taps) = (new int[g.MaxWindowSize], new int[g.MaxWindowSize]);
        for (int n = 0; n < p.Batch; n++)
            for (int oc = 0; oc < p.OutChannels; oc++)
                for (int o = 0; o < g.OutputPlaneSize; o++)
                {
                    int count = g.Gather(o, ins, taps), firstIc = oc / p.OutPerGroup * p.InPerGroup;
                    double grad = dy[(n * p.OutChannels + oc) * g.OutputPlaneSize + o];
                    db[oc] += grad;
                    for (int icl = 0; icl < p.InPerGroup; icl++)
                        for (int k = 0; k < count; k++)
                        {
                            int xi = (n * p.InChannels + firstIc + icl) * g.InputPlaneSize + ins[k], wi = (oc * p.InPerGroup + icl) * p.KernelVolume + taps[k];
                            dx[xi] += grad * w[wi];
                            dw[wi] += grad * x[xi];
                        }
                }
        var grads = new List<(string, Tensor)> { ("input", Tensor.Wrap(p.InputShape, dx)), ("weight", Tensor.Wrap(p.WeightShape, dw)) };
        if (HasBias) grads.Add(("bias", Tensor.Wrap(Shape.Of(p.OutChannels), db)));
        return new NamedTensors([.. grads]);
    }

    /// <inheritdoc/>
    public IOp ReferencePath => new Reference(this);

    // The same op computed by the readable reference: what the reference cases are generated from.
    private sealed class Reference(Convolution conv) : IOp
    {
        public string Name => conv.Name;
        public OpAttributes Attributes => conv.Attributes;
        public string AttributeText => conv.AttributeText;
        public IReadOnlyList<string> DifferentiableInputs => conv.DifferentiableInputs;
        public Tensor Forward(NamedTensors inputs) => conv.ReferenceForward(inputs);
        public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput) => conv.ReferenceBackward(inputs, gradOutput);
    }

    /// <inheritdoc/>
    public bool IsSmooth => true; // no max, no threshold: differentiable at every finite input

    /// <inheritdoc/>
    public string OutputShapeRule(NamedTensors inputs)
    {
        var x = inputs["input"];
        var w = inputs["weight"];
        var kernel = w.Shape.Slice(2);
        var pads = Padding.Resolve(Rank, kernel, dilation);
        var parts = Enumerable.Range(0, Rank).Select(i =>
            $"dimension {i + 2}: {AxisWindows.SizeFormula(x.Shape[i + 2], kernel[i], stride[i], pads[i].Before, pads[i].After, dilation[i], ceilMode: false)}");
        return $"(N, C_out = weight.shape[0] = {w.Shape[0]}, *output size), floor((in + padding_before + padding_after - dilation·(kernel_size - 1) - 1) / stride) + 1 " +
               $"per spatial dimension (padding {Padding.Kind}): {string.Join("; ", parts)}";
    }

    /// <inheritdoc/>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput) => Magnitudes.Multilinear(this, inputs, gradOutput);

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape)
    {
        var (p, _) = Prepare(inputs);
        int inPlane = p.Geometry.InputPlaneSize, outPlane = p.Geometry.OutputPlaneSize, perOc = p.InPerGroup * p.KernelVolume;
        switch (input)
        {
            case "input":
            {
                // An input cell reaches every output channel of its group, in the windows containing it.
                var w = JacobianStructure.Windows(p.Geometry);
                // Colour k: input channel k / w.Colours of the group, window colour k % w.Colours; output plane q = (n, oc).
                return w.Structure(p.InPerGroup * w.Colours,
                    e => e / inPlane % p.InChannels % p.InPerGroup * w.Colours + w.ColourOf(e % inPlane),
                    k => k % w.Colours,
                    (q, k) => (q / p.OutChannels * p.InChannels + q % p.OutChannels / p.OutPerGroup * p.InPerGroup + k / w.Colours) * inPlane,
                    sameRanks: true); // the input channel only shifts every plane's start
            }
            case "weight": // a weight reaches only its own output channel
                return JacobianStructure.ByPlane(perOc, e => e % perOc, outPlane, (q, k) => q % p.OutChannels * perOc + k, sameRanks: true); // rank: the output channel
            default: // bias
                return JacobianStructure.ByPlane(1, _ => 0, outPlane, (q, _) => q % p.OutChannels);
        }
    }

    /// <inheritdoc/>
    public InvariantReport CheckInvariants(NamedTensors inputs, Tensor gradOutput, NamedTensors gradients) =>
        InvariantsOf(this, inputs, gradOutput, gradients);

    /// <summary>Name: convolution's bias gradient.</summary>
    public const string BiasIsSumOfGradOutput = "grad_bias = sum of grad_output over batch and space";

    /// <summary>Convolution: grad_bias[c] = Σ over batch and space of grad_output[:, c].</summary>
    private static InvariantReport InvariantsOf(Convolution op, NamedTensors inputs, Tensor gradOutput, NamedTensors gradients)
    {
        var r = new InvariantReport.Builder();
        if (!op.HasBias || !gradients.Contains("bias")) return r.Build();
        var a = AxisLayout.Of(gradOutput.Shape, 1);
        var db = gradients["bias"];
        if (db.Shape != Shape.Of(a.Length)) { r.Violated(BiasIsSumOfGradOutput, $"grad_bias has shape {db.Shape}, expected ({a.Length})"); return r.Build(); }
        for (int c = 0; c < a.Length; c++)
        {
            double sum = 0, mag = 0;
            for (int o = 0; o < a.Outer; o++) for (int i = 0; i < a.Inner; i++) { sum += gradOutput.At(a.At(o, c, i)); mag += Math.Abs(gradOutput.At(a.At(o, c, i))); }
            r.SumsAgree(BiasIsSumOfGradOutput, db.At(c), sum, mag, a.Outer * a.Inner, actual => Explain(actual, sum, a, gradOutput, c));
            if (r.Build().Broke(BiasIsSumOfGradOutput)) break;
        }
        return r.Build();
    }
    private static string Explain(double actual, double expected, AxisLayout a, Tensor dy, int c)
    {
        if (a.Outer > 1 && Math.Abs(actual * a.Outer - expected) <= 1e-9 * (Math.Abs(expected) + 1))
            return $"grad_bias is the sum divided by the batch size {a.Outer}: a mean-loss convention baked into the layer";
        double first = 0;
        for (int i = 0; i < a.Inner; i++) first += dy.At(a.At(0, c, i));
        return a.Outer > 1 && Math.Abs(actual - first) <= 1e-9 * (Math.Abs(first) + 1)
            ? "grad_bias equals the first sample's sum alone: the sum over the batch is missing" : "";
    }
}
