using GradOracle.Checking;
using GradOracle.Geometry;
using GradOracle.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace GradOracle.Layers;

/// <summary>
/// Convolution (cross-correlation, as every framework computes it) in spatial ranks 1 to 3, with stride,
/// padding, dilation, groups and optional bias. Input (N, C_in, *), weight (C_out, C_in/groups, *k),
/// bias (C_out). Backward: grad_input is the transposed convolution of grad_output with the same weights
/// (full correlation with the kernel rotated by 180 degrees), grad_weight correlates input with
/// grad_output summed over the batch, grad_bias sums grad_output over batch and space. Whether a loss
/// is a mean is the loss's business: nothing here divides by the batch size.
/// </summary>
public sealed class Convolution : IOp, IForwardInto, IHasInvariants, IHasJacobianStructure, IHasMagnitudes, IExplainsOutputShape
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
        Invariants = [LayerInvariants.BiasIsSumOfGradOutput],
        KnownBugs = Bugs,
        DrawCase = d =>
        {
            int groups = d.Int(1, 3), cin = groups * d.Int(1, 2), cout = groups * d.Int(1, 2);
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
        int batch = inputs["input"].Shape[0];
        yield return BugHypothesis.InTensor("grads.input", "convolution input gradient computed with the kernel not rotated by 180 degrees", () =>
        {
            // The bug's answer equals the right one for the kernel flipped in every spatial dimension.
            var w = inputs["weight"];
            int volume = w.Shape.CountFrom(2);
            var flipped = Tensor.Create(w.Shape, i => w.At(i / volume * volume + volume - 1 - i % volume));
            return c.Backward(inputs.With("weight", flipped), dy)["input"];
        });
        yield return BugHypothesis.InTensor("grads.weight", $"weight gradient divided by the batch size {batch} (a mean-loss convention baked into the layer)",
            () => batch > 1 ? c.Backward(inputs, dy)["weight"].Scaled(1.0 / batch) : null);
        if (!c.HasBias) yield break;
        yield return BugHypothesis.InTensor("grads.bias", "bias gradient misses the sum over the batch (first sample only)", () =>
        {
            int per = dy.Count / Math.Max(1, batch);
            return batch > 1 ? c.Backward(inputs, Tensor.Create(dy.Shape, i => i < per ? dy.At(i) : 0))["bias"] : null;
        });
        yield return BugHypothesis.InTensor("grads.bias", $"bias gradient divided by the batch size {batch}",
            () => batch > 1 ? c.Backward(inputs, dy)["bias"].Scaled(1.0 / batch) : null);
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
    private sealed record Plan(WindowGeometry Geometry, int Batch, int InChannels, int OutChannels, int InPerGroup, int OutPerGroup, int KernelVolume, Shape OutputShape)
    {
        /// <summary>
        /// The outputs of a plane in blocks of <see cref="Lanes"/> whose windows have one shape, for <see cref="Sums"/>;
        /// empty when the forward takes the per-run path instead (see <see cref="Vectorized"/>).
        /// </summary>
        public required Block[] Blocks { get; init; }

        /// <summary>The blocks' outputs, <see cref="Lanes"/> per block.</summary>
        public required Place[] Places { get; init; }

        /// <summary>The window shapes' steps (see <see cref="Block"/>).</summary>
        public required Step[] Steps { get; init; }

        /// <summary>
        /// For the per-run forward and the backward: the geometry's (output, input, tap) triples per kernel tap, as runs in
        /// output order: outputs <c>Out .. Out+Length-1</c> read inputs <c>In, In+InStep, ...</c> (consecutive outputs along
        /// the last axis read inputs one stride apart).
        /// </summary>
        public required (int Out, int In, int Length)[][] Runs { get; init; }

        /// <summary>The input distance between consecutive outputs of a run: the last axis's stride.</summary>
        public required int InStep { get; init; }

        /// <summary>Tiles of <see cref="Lanes"/> output channels per group (the last one padded with zero weights).</summary>
        public int Tiles => (OutPerGroup + Lanes - 1) / Lanes;

        public required Shape InputShape { get; init; }
        public required Shape WeightShape { get; init; }
    }

    /// <summary>
    /// <see cref="Lanes"/> outputs, <c>Places[First ..]</c>, whose windows have one shape: the same taps, at the same offsets
    /// from the output's first input. <c>Steps[FirstStep ..]</c> (<c>StepCount</c> of them) are the window's (input channel,
    /// tap) products in summation order. Consecutive: the outputs are consecutive and read consecutive inputs, so a step's
    /// inputs are one vector, at <c>Input</c> past the first output's first input. Otherwise (next to the padding, strided)
    /// the forward gathers them first, step k's inputs at k·Lanes, as the next <c>StepCount</c> steps say.
    /// </summary>
    private readonly record struct Block(int First, int FirstStep, int StepCount, bool Consecutive);

    /// <summary>An output (flat in the output plane), and the input its window's first tap reads (flat in the input plane).</summary>
    private readonly record struct Place(int Out, int In);

    /// <summary>A product of a window's sum: its input's offset (input channel and tap), and its weights' offset in a tile.</summary>
    private readonly record struct Step(int Input, int Weight);

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
        var plan = new Plan(g, x.Shape[0], cin, cout, cin / Groups, cout / Groups, g.MaxWindowSize, outShape)
        {
            Blocks = [], Places = [], Steps = [], Runs = [], InStep = stride[Rank - 1],
            InputShape = x.Shape, WeightShape = w.Shape,
        };
        plan = WithRuns(Vectorized(plan) ? WithBlocks(plan) : plan);
        lastPlan = plan;
        return plan;
    }

    private string Dims(string letter) => string.Join(", ", Enumerable.Range(1, Rank).Select(i => letter + i));

    /// <summary>
    /// Whether the forward takes <see cref="Sums"/>: it needs hardware for <see cref="Vector512{T}"/> (emulated it would be
    /// far slower than the per-run path), and at least half a tile of output channels per group (with fewer, most of the
    /// tile's arithmetic would be for empty lanes: depthwise convolutions keep the per-run path).
    /// </summary>
    private static bool Vectorized(Plan p) => Vector512.IsHardwareAccelerated && p.OutPerGroup >= Lanes / 2;

    /// <summary>The plan's outputs in blocks of <see cref="Lanes"/> with one window shape, and each shape's steps.</summary>
    private static Plan WithBlocks(Plan p)
    {
        var g = p.Geometry;
        // Outputs away from the padding share one window shape; near it, each combination of missing taps is its own.
        var shapes = new Dictionary<string, (int[] Taps, int[] Offsets, List<Place> Places)>();
        Span<int> ins = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]), taps = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]);
        for (int o = 0; o < g.OutputPlaneSize; o++)
        {
            int count = g.Gather(o, ins, taps), first = count > 0 ? ins[0] : 0;
            var offsets = ins[..count].ToArray();
            for (int t = 0; t < count; t++) offsets[t] -= first;
            var key = $"{string.Join(',', taps[..count].ToArray())}/{string.Join(',', offsets)}";
            if (!shapes.TryGetValue(key, out var shape)) shapes[key] = shape = (taps[..count].ToArray(), offsets, []);
            shape.Places.Add(new Place(o, first));
        }
        var blocks = new List<Block>();
        var places = new List<Place>();
        var steps = new List<Step>();
        foreach (var (shapeTaps, offsets, at) in shapes.Values)
        {
            // The shape's products in summation order (input channel, then tap), then the same for gathered inputs.
            int firstStep = steps.Count, count = p.InPerGroup * shapeTaps.Length;
            for (int icl = 0; icl < p.InPerGroup; icl++)
                for (int t = 0; t < shapeTaps.Length; t++)
                    steps.Add(new Step(icl * g.InputPlaneSize + offsets[t], (icl * p.KernelVolume + shapeTaps[t]) * Lanes));
            for (int k = 0; k < count; k++) steps.Add(steps[firstStep + k] with { Input = k * Lanes });
            // Runs of at least Lanes consecutive outputs reading consecutive inputs make consecutive blocks, the last one
            // ending with the run (outputs in two blocks get the same sums twice); the other outputs are gathered.
            var rest = new List<Place>();
            for (int i = 0, end; i < at.Count; i = end)
            {
                for (end = i + 1; end < at.Count && at[end].Out == at[end - 1].Out + 1 && at[end].In == at[end - 1].In + 1; end++) { }
                if (end - i < Lanes) rest.AddRange(at.GetRange(i, end - i));
                else
                    for (int j = i; ; j = Math.Min(j + Lanes, end - Lanes))
                    {
                        blocks.Add(new Block(places.Count, firstStep, count, Consecutive: true));
                        places.AddRange(at.GetRange(j, Lanes));
                        if (j + Lanes == end) break;
                    }
            }
            // Gathered blocks are filled up by repeating their last output (computed again, stored again, unchanged).
            while (rest.Count % Lanes != 0) rest.Add(rest[^1]);
            for (int j = 0; j < rest.Count; j += Lanes)
            {
                blocks.Add(new Block(places.Count, firstStep, count, Consecutive: false));
                places.AddRange(rest.GetRange(j, Lanes));
            }
        }
        return p with { Blocks = [.. blocks], Places = [.. places], Steps = [.. steps] };
    }

    /// <summary>The plan's windows as runs per kernel tap, for the per-run path.</summary>
    private static Plan WithRuns(Plan p)
    {
        var g = p.Geometry;
        var runs = Enumerable.Range(0, g.MaxWindowSize).Select(_ => new List<(int Out, int In, int Length)>()).ToArray();
        Span<int> ins = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]), taps = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]);
        for (int o = 0; o < g.OutputPlaneSize; o++)
            for (int k = 0, count = g.Gather(o, ins, taps); k < count; k++)
            {
                var list = runs[taps[k]];
                int i = ins[k];
                // Extends the tap's last run when this output and this input both follow it (any such pair is one of the tap's).
                if (list.Count > 0 && list[^1] is var r && r.Out + r.Length == o && r.In + r.Length * p.InStep == i)
                    list[^1] = r with { Length = r.Length + 1 };
                else list.Add((o, i, 1));
            }
        return p with { Runs = runs.Select(l => l.ToArray()).ToArray() };
    }

    /// <summary>Outputs per vector, and output channels per tile: <see cref="Sums"/> computes a tile's channels at that many outputs at once.</summary>
    private static int Lanes => Vector512<double>.Count;

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs) => Forward(inputs, null);

    /// <inheritdoc cref="IForwardInto.Forward"/>
    public Tensor Forward(NamedTensors inputs, double[]? output)
    {
        var p = Prepare(inputs);
        if (!Vectorized(p)) return ForwardByRuns(p, inputs, output);
        var x = inputs["input"].Span;
        var (weights, biases) = Tiled(p, inputs);
        int inPlane = p.Geometry.InputPlaneSize, outPlane = p.Geometry.OutputPlaneSize, tileSize = p.InPerGroup * p.KernelVolume * Lanes;
        // Every output is in a block, which writes it: no need to zero the array first.
        var y = Tensor.OutputArray(p.OutputShape, output, uninitialized: true);
        var gathered = ThreadBuffer(ref gatheredInputs, tileSize, clear: false); // each step's inputs written before they are read
        Span<double> sums = stackalloc double[Lanes * Lanes];
        for (int n = 0; n < p.Batch; n++)
            for (int g = 0; g < Groups; g++)
            {
                var xGroup = x.Slice((n * p.InChannels + g * p.InPerGroup) * inPlane, p.InPerGroup * inPlane);
                for (int tile = 0; tile < p.Tiles; tile++)
                {
                    int firstOc = g * p.OutPerGroup + tile * Lanes, channels = Math.Min(Lanes, p.OutPerGroup - tile * Lanes);
                    var yTile = y.AsSpan((n * p.OutChannels + firstOc) * outPlane, channels * outPlane);
                    var wTile = weights.AsSpan((g * p.Tiles + tile) * tileSize, tileSize);
                    var bias = biases.AsSpan((g * p.Tiles + tile) * Lanes, Lanes);
                    foreach (var block in p.Blocks)
                    {
                        var places = p.Places.AsSpan(block.First, Lanes);
                        var steps = p.Steps.AsSpan(block.FirstStep, block.StepCount);
                        if (block.Consecutive)
                        {
                            Sums(xGroup, places[0].In, steps, wTile, bias, yTile[places[0].Out..], outPlane, channels);
                            continue;
                        }
                        Gather(xGroup, places, steps, gathered);
                        Sums(gathered, 0, p.Steps.AsSpan(block.FirstStep + block.StepCount, block.StepCount), wTile, bias, sums, Lanes, channels);
                        for (int c = 0; c < channels; c++)
                            for (int l = 0; l < Lanes; l++) yTile[c * outPlane + places[l].Out] = sums[c * Lanes + l];
                    }
                }
            }
        return Tensor.Wrap(p.OutputShape, y);
    }

    /// <summary>Step k's inputs, one per output of <paramref name="places"/>, into <c>gathered[k·Lanes ..]</c>: one vector per step.</summary>
    private static void Gather(ReadOnlySpan<double> x, ReadOnlySpan<Place> places, ReadOnlySpan<Step> steps, Span<double> gathered)
    {
        ref double x0 = ref MemoryMarshal.GetReference(x);
        var into = gathered[..(steps.Length * Lanes)];
        for (int k = 0; k < steps.Length; k++)
        {
            int input = steps[k].Input;
            // The plan made In + Input an input of the place's output: inside x.
            for (int l = 0; l < Lanes; l++) into[k * Lanes + l] = Unsafe.Add(ref x0, places[l].In + input);
        }
    }

    // Each thread's buffers for the vector forward: a check runs passes on several workers at once, thousands of them, and
    // fresh arrays would be allocated and zeroed each time.
    [ThreadStatic] private static double[]? tiledWeights, tiledBiases, gatheredInputs;

    /// <summary>This thread's buffer of at least <paramref name="size"/>, its first <paramref name="size"/> zeroed if asked.</summary>
    private static double[] ThreadBuffer(ref double[]? buffer, int size, bool clear)
    {
        if (buffer is null || buffer.Length < size) buffer = new double[size];
        else if (clear) Array.Clear(buffer, 0, size);
        return buffer;
    }

    /// <summary>
    /// The weights rearranged so that a tap's weights for a tile of output channels are one vector (group, tile, input
    /// channel, tap, lane), and the biases by tile; lanes past a group's last output channel are zero, their sums never stored.
    /// </summary>
    private (double[] Weights, double[] Biases) Tiled(Plan p, NamedTensors inputs)
    {
        var w = inputs["weight"].Span;
        int perOc = p.InPerGroup * p.KernelVolume;
        // Lanes past a group's last output channel, and every bias without one, must read 0; the others are all written.
        bool clear = p.OutPerGroup % Lanes != 0 || !HasBias;
        var weights = ThreadBuffer(ref tiledWeights, Groups * p.Tiles * perOc * Lanes, clear);
        var biases = ThreadBuffer(ref tiledBiases, Groups * p.Tiles * Lanes, clear);
        var bias = HasBias ? inputs["bias"].Span : default;
        for (int oc = 0; oc < p.OutChannels; oc++)
        {
            int tile = oc / p.OutPerGroup * p.Tiles + oc % p.OutPerGroup / Lanes, lane = oc % p.OutPerGroup % Lanes;
            if (HasBias) biases[tile * Lanes + lane] = bias[oc];
            for (int k = 0; k < perOc; k++) weights[(tile * perOc + k) * Lanes + lane] = w[oc * perOc + k];
        }
        return (weights, biases);
    }

    /// <summary>
    /// The sums of <see cref="Lanes"/> consecutive outputs for a tile of <see cref="Lanes"/> output channels; channel c's are
    /// written to <c>to[c·toStride ..]</c>, for the tile's first <paramref name="channels"/>. Step k multiplies the inputs
    /// <c>x[at + Input ..]</c>, one per output, by the weights <c>wTile[Weight ..]</c>, one per channel. Each sum starts from
    /// the bias and adds its products in step order (input channel by input channel, tap by tap; padding is no step: skipped,
    /// not added as a zero), each product added by a fused multiply-add (one rounding, as the per-run path does: the bits do
    /// not depend on the path; fused, the kernel runs about twice as fast as multiplying and adding apart). Eight channels'
    /// independent sums keep the unit busy while each sum waits for its previous step. An inline loop rather than
    /// TensorPrimitives: a step is one vector per channel, far too short to pay for a call.
    /// </summary>
    private static void Sums(ReadOnlySpan<double> x, int at, ReadOnlySpan<Step> steps, ReadOnlySpan<double> wTile, ReadOnlySpan<double> bias,
        Span<double> to, int toStride, int channels)
    {
        var s0 = Vector512.Create(bias[0]); var s1 = Vector512.Create(bias[1]); var s2 = Vector512.Create(bias[2]); var s3 = Vector512.Create(bias[3]);
        var s4 = Vector512.Create(bias[4]); var s5 = Vector512.Create(bias[5]); var s6 = Vector512.Create(bias[6]); var s7 = Vector512.Create(bias[7]);
        // No bounds checks in the loop: the plan made at + Input + l an input of output l, and Weight a tap's place in the tile.
        ref double x0 = ref Unsafe.Add(ref MemoryMarshal.GetReference(x), at);
        ref double w0 = ref MemoryMarshal.GetReference(wTile);
        foreach (var (input, weight) in steps)
        {
            var xs = Vector512.LoadUnsafe(ref x0, (nuint)input);
            ref double w = ref Unsafe.Add(ref w0, weight);
            s0 = Vector512.FusedMultiplyAdd(xs, Vector512.Create(w), s0);
            s1 = Vector512.FusedMultiplyAdd(xs, Vector512.Create(Unsafe.Add(ref w, 1)), s1);
            s2 = Vector512.FusedMultiplyAdd(xs, Vector512.Create(Unsafe.Add(ref w, 2)), s2);
            s3 = Vector512.FusedMultiplyAdd(xs, Vector512.Create(Unsafe.Add(ref w, 3)), s3);
            s4 = Vector512.FusedMultiplyAdd(xs, Vector512.Create(Unsafe.Add(ref w, 4)), s4);
            s5 = Vector512.FusedMultiplyAdd(xs, Vector512.Create(Unsafe.Add(ref w, 5)), s5);
            s6 = Vector512.FusedMultiplyAdd(xs, Vector512.Create(Unsafe.Add(ref w, 6)), s6);
            s7 = Vector512.FusedMultiplyAdd(xs, Vector512.Create(Unsafe.Add(ref w, 7)), s7);
        }
        s0.CopyTo(to);
        if (channels > 1) s1.CopyTo(to[(1 * toStride)..]);
        if (channels > 2) s2.CopyTo(to[(2 * toStride)..]);
        if (channels > 3) s3.CopyTo(to[(3 * toStride)..]);
        if (channels > 4) s4.CopyTo(to[(4 * toStride)..]);
        if (channels > 5) s5.CopyTo(to[(5 * toStride)..]);
        if (channels > 6) s6.CopyTo(to[(6 * toStride)..]);
        if (channels > 7) s7.CopyTo(to[(7 * toStride)..]);
    }

    /// <summary>
    /// The forward one output channel at a time, per kernel tap over runs of outputs (one TensorPrimitives fused
    /// multiply-add per run: one rounding), in the same per-output order as <see cref="Sums"/>: bias, input channel, tap.
    /// </summary>
    private Tensor ForwardByRuns(Plan p, NamedTensors inputs, double[]? output)
    {
        var x = inputs["input"].Span;
        var w = inputs["weight"].Span;
        var bias = HasBias ? inputs["bias"].Span : default;
        var y = Tensor.OutputArray(p.OutputShape, output); // every plane is filled with its bias first
        int inPlane = p.Geometry.InputPlaneSize, outPlane = p.Geometry.OutputPlaneSize;
        for (int n = 0; n < p.Batch; n++)
            for (int oc = 0; oc < p.OutChannels; oc++)
            {
                int firstIc = oc / p.OutPerGroup * p.InPerGroup;
                var yPlane = y.AsSpan((n * p.OutChannels + oc) * outPlane, outPlane);
                yPlane.Fill(HasBias ? bias[oc] : 0);
                for (int icl = 0; icl < p.InPerGroup; icl++)
                {
                    var xPlane = x.Slice((n * p.InChannels + firstIc + icl) * inPlane, inPlane);
                    var wKernel = w.Slice((oc * p.InPerGroup + icl) * p.KernelVolume, p.KernelVolume);
                    for (int t = 0; t < p.KernelVolume; t++)
                        foreach (var (o, i, length) in p.Runs[t])
                        {
                            var dst = yPlane.Slice(o, length);
                            if (p.InStep == 1) TensorPrimitives.FusedMultiplyAdd(xPlane.Slice(i, length), wKernel[t], dst, dst);
                            else for (int r = 0; r < length; r++) dst[r] = Math.FusedMultiplyAdd(wKernel[t], xPlane[i + r * p.InStep], dst[r]);
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
        var dx = new double[xT.Count];
        var dw = new double[wT.Count];
        var db = new double[p.OutChannels];
        int inPlane = p.Geometry.InputPlaneSize, outPlane = p.Geometry.OutputPlaneSize;
        // Each product w*x in the forward sends g*x to the weight and g*w to the input (the full correlation with the
        // rotated kernel), each element's sum in the order of one serial loop over outputs (batch item, output channel,
        // position, tap): an input cell's products come output channel by output channel, and within one, by position,
        // which is tap by tap backwards (a later tap reads the cell from an earlier window); a weight's come batch item by
        // batch item, position by position. The input's gradient by (batch item, input channel) plane, a whole run of
        // positions per tap at once (products rounded, then added, as the serial loop), and the weight's and bias's by
        // output channel, in parallel: no two items write one element, so the bits do not depend on the split.
        Parallel.For(0, p.Batch * p.InChannels + p.OutChannels, item =>
        {
            ReadOnlySpan<double> x = xT.Span, w = wT.Span, dy = gradOutput.Span;
            if (item < p.Batch * p.InChannels)
            {
                int n = item / p.InChannels, ic = item % p.InChannels, icl = ic % p.InPerGroup, group = ic / p.InPerGroup;
                var dxPlane = dx.AsSpan(item * inPlane, inPlane);
                for (int oc = group * p.OutPerGroup; oc < (group + 1) * p.OutPerGroup; oc++)
                {
                    var dyPlane = dy.Slice((n * p.OutChannels + oc) * outPlane, outPlane);
                    for (int t = p.KernelVolume - 1; t >= 0; t--)
                    {
                        double wt = w[(oc * p.InPerGroup + icl) * p.KernelVolume + t];
                        foreach (var (o, i, length) in p.Runs[t])
                        {
                            if (p.InStep == 1) TensorPrimitives.MultiplyAdd(dyPlane.Slice(o, length), wt, dxPlane.Slice(i, length), dxPlane.Slice(i, length));
                            else for (int r = 0; r < length; r++) dxPlane[i + r * p.InStep] += dyPlane[o + r] * wt;
                        }
                    }
                }
                return;
            }
            int c = item - p.Batch * p.InChannels, firstIc = c / p.OutPerGroup * p.InPerGroup;
            for (int n = 0; n < p.Batch; n++)
                foreach (double g in dy.Slice((n * p.OutChannels + c) * outPlane, outPlane)) db[c] += g; // summed over batch and space
            for (int icl = 0; icl < p.InPerGroup; icl++)
                for (int t = 0; t < p.KernelVolume; t++)
                {
                    double sum = 0;
                    for (int n = 0; n < p.Batch; n++)
                    {
                        var dyPlane = dy.Slice((n * p.OutChannels + c) * outPlane, outPlane);
                        var xPlane = x.Slice((n * p.InChannels + firstIc + icl) * inPlane, inPlane);
                        foreach (var (o, i, length) in p.Runs[t])
                            for (int r = 0; r < length; r++) sum += dyPlane[o + r] * xPlane[i + r * p.InStep];
                    }
                    dw[(c * p.InPerGroup + icl) * p.KernelVolume + t] = sum;
                }
        });
        var grads = new List<(string, Tensor)> { ("input", Tensor.Wrap(xT.Shape, dx)), ("weight", Tensor.Wrap(wT.Shape, dw)) };
        if (HasBias) grads.Add(("bias", Tensor.Wrap(Shape.Of(p.OutChannels), db)));
        return new NamedTensors(grads.ToArray());
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
        var p = Prepare(inputs);
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
        LayerInvariants.Convolution(this, inputs, gradOutput, gradients);
}
