using GradOracle.Checking;
using GradOracle.Geometry;
using GradOracle.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace GradOracle.Layers;

/// <summary>Convolution padding: explicit per spatial dimension, "valid" (none) or "same" (output size = input size).</summary>
public sealed class ConvPadding
{
    private readonly int[]? values;

    private ConvPadding(string kind, int[]? values)
    {
        Kind = kind;
        this.values = values;
    }

    /// <summary>No padding.</summary>
    public static ConvPadding Valid { get; } = new("valid", null);

    /// <summary>Pads so the output has the input's size (stride 1 only); odd total padding puts the extra cell after, as PyTorch does.</summary>
    public static ConvPadding Same { get; } = new("same", null);

    /// <summary>Explicit zero padding on both sides: one value for every dimension, or one per dimension.</summary>
    public static ConvPadding Of(params int[] values) => new("explicit", (int[])values.Clone());

    /// <summary>"valid", "same" or "explicit".</summary>
    public string Kind { get; }

    /// <summary>Padding (before, after) per axis for the given kernel sizes and dilations.</summary>
    internal (int Before, int After)[] Resolve(int rank, int[] kernel, int[] dilation)
    {
        var r = new (int, int)[rank];
        for (int i = 0; i < rank; i++)
        {
            if (Kind == "valid") r[i] = (0, 0);
            else if (Kind == "same")
            {
                int total = dilation[i] * (kernel[i] - 1);
                r[i] = (total / 2, total - total / 2);
            }
            else
            {
                int p = PoolingWindows.Expand("padding", values!, rank, 0)[i];
                r[i] = (p, p);
            }
        }
        return r;
    }

    /// <summary>The attribute value: the per-dimension padding, or "same" / "valid".</summary>
    internal object Value(int rank) => Kind == "explicit" ? PoolingWindows.Expand("padding", values!, rank, 0) : Kind;

    /// <inheritdoc/>
    public override string ToString() => Kind == "explicit" ? PoolingWindows.Show(values!) : $"'{Kind}'";
}

/// <summary>
/// Convolution (cross-correlation, as every framework computes it) in spatial ranks 1 to 3, with stride,
/// padding, dilation, groups and optional bias. Input (N, C_in, *), weight (C_out, C_in/groups, *k),
/// bias (C_out). Backward: grad_input is the transposed convolution of grad_output with the same weights
/// (full correlation with the kernel rotated by 180 degrees), grad_weight correlates input with
/// grad_output summed over the batch, grad_bias sums grad_output over batch and space. Whether a loss
/// is a mean is the loss's business: nothing here divides by the batch size.
/// </summary>
public sealed class Convolution : IOp, IHasInvariants, IHasJacobianStructure
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
    public OpAttributes Attrs => new(("stride", stride), ("padding", Padding.Value(Rank)), ("dilation", dilation), ("groups", Groups));

    /// <summary>The attributes, and "bias=None" when the op takes no bias.</summary>
    public string Attributes => Attrs + (HasBias ? "" : ", bias=None");

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; }

    /// <summary>Shapes and geometry of one pass, after checking every rule that relates input, weight and bias.</summary>
    private sealed record Plan(WindowGeometry Geometry, int Batch, int InChannels, int OutChannels, int InPerGroup, int OutPerGroup, int KernelVolume, Shape OutputShape)
    {
        /// <summary>
        /// The geometry's (output, input, tap) triples per kernel tap, as runs: outputs <c>Out .. Out+Length-1</c> read inputs <c>In, In+InStep, ...</c>
        /// (consecutive outputs along the last axis read inputs one stride apart), so that the forward is a few
        /// vector operations per tap instead of a gather per output.
        /// </summary>
        public required (int Out, int In, int Length)[][] Runs { get; init; }

        /// <summary>The input distance between consecutive outputs of a run: the last axis's stride.</summary>
        public required int InStep { get; init; }

        public required Shape InputShape { get; init; }
        public required Shape WeightShape { get; init; }
    }

    // The last plan, reused while the shapes stay the same (every pass of a gradient check).
    private Plan? lastPlan;

    private Plan Prepare(NamedTensors inputs)
    {
        var x = inputs["input"];
        var w = inputs["weight"];
        if (lastPlan is { } last && last.InputShape == x.Shape && last.WeightShape == w.Shape && (!HasBias || inputs["bias"].Shape == Shape.Of(last.OutChannels)))
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
        int inStep = stride[Rank - 1];
        var runs = Enumerable.Range(0, g.MaxWindowSize).Select(_ => new List<(int Out, int In, int Length)>()).ToArray();
        Span<int> ins = stackalloc int[g.MaxWindowSize], taps = stackalloc int[g.MaxWindowSize];
        for (int o = 0; o < g.OutputPlaneSize; o++)
            for (int k = 0, count = g.Gather(o, ins, taps); k < count; k++)
            {
                var list = runs[taps[k]];
                int i = ins[k];
                // Extends the tap's last run when this output and this input both follow it (any such pair is one of the tap's).
                if (list.Count > 0 && list[^1] is var r && r.Out + r.Length == o && r.In + r.Length * inStep == i)
                    list[^1] = r with { Length = r.Length + 1 };
                else list.Add((o, i, 1));
            }
        var plan = new Plan(g, x.Shape[0], cin, cout, cin / Groups, cout / Groups, g.MaxWindowSize, outShape)
        {
            Runs = runs.Select(l => l.ToArray()).ToArray(), InStep = inStep,
            InputShape = x.Shape, WeightShape = w.Shape,
        };
        lastPlan = plan;
        return plan;
    }

    private string Dims(string letter) => string.Join(", ", Enumerable.Range(1, Rank).Select(i => letter + i));

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs)
    {
        var p = Prepare(inputs);
        var x = inputs["input"].Span;
        var w = inputs["weight"].Span;
        var y = new double[p.OutputShape.Count];
        int inPlane = p.Geometry.InputPlaneSize, outPlane = p.Geometry.OutputPlaneSize;
        for (int n = 0; n < p.Batch; n++)
            for (int oc = 0; oc < p.OutChannels; oc++)
            {
                int firstIc = oc / p.OutPerGroup * p.InPerGroup;
                var yPlane = y.AsSpan((n * p.OutChannels + oc) * outPlane, outPlane);
                yPlane.Fill(HasBias ? inputs["bias"].At(oc) : 0);
                // Every output adds its products in the order bias, input channel, kernel tap (as a gather loop
                // would): per tap, w·x over runs of outputs is one vector multiply-add (not fused: two roundings).
                for (int icl = 0; icl < p.InPerGroup; icl++)
                {
                    var xPlane = x.Slice((n * p.InChannels + firstIc + icl) * inPlane, inPlane);
                    var wKernel = w.Slice((oc * p.InPerGroup + icl) * p.KernelVolume, p.KernelVolume);
                    for (int t = 0; t < p.KernelVolume; t++)
                        foreach (var (o, i, length) in p.Runs[t])
                        {
                            var dst = yPlane.Slice(o, length);
                            if (p.InStep == 1) TensorPrimitives.MultiplyAdd(xPlane.Slice(i, length), wKernel[t], dst, dst);
                            else for (int r = 0; r < length; r++) dst[r] += wKernel[t] * xPlane[i + r * p.InStep];
                        }
                }
            }
        return Tensor.Wrap(p.OutputShape, y);
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var p = Prepare(inputs);
        Tensor.RequireShape("grad_output", gradOutput, p.OutputShape);
        var xT = inputs["input"];
        var wT = inputs["weight"];
        var x = xT.Span;
        var w = wT.Span;
        var dy = gradOutput.Span;
        var dx = new double[xT.Count];
        var dw = new double[wT.Count];
        var db = new double[p.OutChannels];
        int inPlane = p.Geometry.InputPlaneSize, outPlane = p.Geometry.OutputPlaneSize;
        Span<int> ins = stackalloc int[p.KernelVolume], taps = stackalloc int[p.KernelVolume];
        for (int n = 0; n < p.Batch; n++)
            for (int oc = 0; oc < p.OutChannels; oc++)
            {
                int firstIc = oc / p.OutPerGroup * p.InPerGroup;
                for (int o = 0; o < outPlane; o++)
                {
                    double g = dy[(n * p.OutChannels + oc) * outPlane + o];
                    db[oc] += g; // summed over batch and space
                    int count = p.Geometry.Gather(o, ins, taps);
                    for (int icl = 0; icl < p.InPerGroup; icl++)
                    {
                        int xBase = (n * p.InChannels + firstIc + icl) * inPlane;
                        int wBase = (oc * p.InPerGroup + icl) * p.KernelVolume;
                        for (int k = 0; k < count; k++)
                        {
                            // Each product w*x in the forward sends g*x to the weight and g*w to the input:
                            // gathered per input cell this is the full correlation with the rotated kernel.
                            dx[xBase + ins[k]] += g * w[wBase + taps[k]];
                            dw[wBase + taps[k]] += g * x[xBase + ins[k]];
                        }
                    }
                }
            }
        var grads = new List<(string, Tensor)> { ("input", Tensor.Wrap(xT.Shape, dx)), ("weight", Tensor.Wrap(wT.Shape, dw)) };
        if (HasBias) grads.Add(("bias", Tensor.Wrap(Shape.Of(p.OutChannels), db)));
        return new NamedTensors(grads.ToArray());
    }

    /// <inheritdoc/>
    public bool IsSmooth => true; // no max, no threshold: differentiable at every finite input

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape)
    {
        var p = Prepare(inputs);
        int inPlane = p.Geometry.InputPlaneSize, outPlane = p.Geometry.OutputPlaneSize, perOc = p.InPerGroup * p.KernelVolume;
        switch (input)
        {
            case "input":
            {
                // An input cell reaches every output channel of its group, in the windows containing it.
                var w = JacobianStructure.Windows(p.Geometry);
                // Colour k: input channel k / w.Colours of the group, window colour k % w.Colours; output plane q = (n, oc).
                int PlaneStart(int q, int k) => (q / p.OutChannels * p.InChannels + q % p.OutChannels / p.OutPerGroup * p.InPerGroup + k / w.Colours) * inPlane;
                return JacobianStructure.Of(p.InPerGroup * w.Colours,
                    e => e / inPlane % p.InChannels % p.InPerGroup * w.Colours + w.ColourOf(e % inPlane),
                    (j, k) => w.PositionIn(j % outPlane, k % w.Colours) is var pos and >= 0 ? PlaneStart(j / outPlane, k) + pos : -1,
                    (k, owners) => w.Owners(k % w.Colours, owners, q => PlaneStart(q, k)));
            }
            case "weight": // a weight reaches only its own output channel
                return JacobianStructure.Of(perOc, e => e % perOc, (j, k) => j / outPlane % p.OutChannels * perOc + k,
                    (k, owners) => FillPlanes(owners, outPlane, q => q % p.OutChannels * perOc + k));
            default: // bias
                return JacobianStructure.Of(1, _ => 0, (j, _) => j / outPlane % p.OutChannels,
                    (_, owners) => FillPlanes(owners, outPlane, q => q % p.OutChannels));
        }
    }

    // Every output of plane q has owner ownerOf(q).
    private static void FillPlanes(Span<int> owners, int plane, Func<int, int> ownerOf)
    {
        for (int q = 0; q < owners.Length / plane; q++) owners.Slice(q * plane, plane).Fill(ownerOf(q));
    }

    /// <inheritdoc/>
    public InvariantReport CheckInvariants(NamedTensors inputs, Tensor gradOutput, NamedTensors gradients) =>
        LayerInvariants.Convolution(this, inputs, gradOutput, gradients);
}
