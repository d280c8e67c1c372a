// Over ~400 lines on purpose: the tiling plan and the loops that read it are one piece of arithmetic, and the
// bit-for-bit agreement with the reference depends on both at once; split apart, neither half can be checked alone.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using GradOracle.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace GradOracle.Layers;

/// <summary>
/// Convolution's fast forward and backward for one plan: a tiled AVX-512 forward (a tile of output channels at
/// <see cref="Width"/> outputs per step, 512 or 256 bits wide, the latter in ConvolutionKernel.ChannelLanes.cs), a per-run forward where vectors do not pay, and a parallel backward by runs.
/// Each adds every sum's terms in the reference's order with the reference's roundings, so its bits are the reference's
/// (<see cref="Convolution.ReferenceForward"/>, <see cref="Convolution.ReferenceBackward"/>; pinned by a test).
/// </summary>
internal sealed partial class ConvolutionKernel
{
    private readonly Convolution.Plan p;
    private readonly ConvolutionWeightGradient weightGradient;
    private readonly ConvolutionInputGradient? inputGradient;

    public ConvolutionKernel(Convolution.Plan plan)
    {
        p = plan;
        Runs = WithRuns(plan);
        weightGradient = new ConvolutionWeightGradient(plan, Runs);
        inputGradient = ConvolutionInputGradient.For(plan);
        (Blocks, Places, Steps) = Vectorized(plan) ? WithBlocks(plan) : ([], [], []);
    }

    /// <summary>
    /// The outputs of a plane in blocks of <see cref="Width"/> whose windows have one shape, for <see cref="Sums"/>;
    /// empty when the forward takes the per-run path instead (see <see cref="Vectorized"/>).
    /// </summary>
    private Block[] Blocks { get; }

    /// <summary>The blocks' outputs, <see cref="Width"/> per block.</summary>
    private Place[] Places { get; }

    /// <summary>The window shapes' steps (see <see cref="Block"/>).</summary>
    private Step[] Steps { get; }

    /// <summary>
    /// For the per-run forward and the backward: the geometry's (output, input, tap) triples per kernel tap, as runs in
    /// output order: outputs <c>Out .. Out+Length-1</c> read inputs <c>In, In+InStep, ...</c> (consecutive outputs along
    /// the last axis read inputs one stride apart).
    /// </summary>
    private (int Out, int In, int Length)[][] Runs { get; }

    /// <summary>Tiles of <see cref="Channels"/> output channels per group (the last one padded with zero weights).</summary>
    private int Tiles => (p.OutPerGroup + Channels - 1) / Channels;

    /// <summary>
    /// <see cref="Width"/> outputs, <c>Places[First ..]</c>, whose windows have one shape: the same taps, at the same offsets
    /// from the output's first input. <c>Steps[FirstStep ..]</c> (<c>StepCount</c> of them) are the window's (input channel,
    /// tap) products in summation order. Consecutive: the outputs are consecutive and read consecutive inputs, so a step's
    /// inputs are one vector, at <c>Input</c> past the first output's first input. Otherwise (next to the padding, strided)
    /// the forward gathers them first, step k's inputs at k·Width, as the next <c>StepCount</c> steps say.
    /// </summary>
    private readonly record struct Block(int First, int FirstStep, int StepCount, bool Consecutive);

    /// <summary>An output (flat in the output plane), and the input its window's first tap reads (flat in the input plane).</summary>
    private readonly record struct Place(int Out, int In);

    /// <summary>A product of a window's sum: its input's offset (input channel and tap), and its weights' offset in a tile.</summary>
    private readonly record struct Step(int Input, int Weight);

    /// <summary>
    /// Whether the forward takes <see cref="Sums"/>: it needs hardware for <see cref="Vector512{T}"/> (emulated it would be
    /// far slower than the per-run path), and at least half a tile of output channels per group (with fewer, most of the
    /// tile's arithmetic would be for empty lanes: depthwise convolutions keep the per-run path).
    /// </summary>
    public static bool Vectorized(Convolution.Plan p) => Width > 0 && p.OutPerGroup >= Channels / 2;

    /// <summary>The plan's outputs in blocks of <see cref="Width"/> with one window shape, and each shape's steps.</summary>
    private static (Block[] Blocks, Place[] Places, Step[] Steps) WithBlocks(Convolution.Plan p)
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
                    steps.Add(new Step(icl * g.InputPlaneSize + offsets[t], (icl * p.KernelVolume + shapeTaps[t]) * Channels));
            for (int k = 0; k < count; k++) steps.Add(steps[firstStep + k] with { Input = k * Width });
            // Runs of at least Width consecutive outputs reading consecutive inputs make consecutive blocks, the last one
            // ending with the run (outputs in two blocks get the same sums twice); the other outputs are gathered.
            var rest = new List<Place>();
            for (int i = 0, end; i < at.Count; i = end)
            {
                for (end = i + 1; end < at.Count && at[end].Out == at[end - 1].Out + 1 && at[end].In == at[end - 1].In + 1; end++) { }
                if (end - i < Width) rest.AddRange(at.GetRange(i, end - i));
                else
                    for (int j = i; ; j = Math.Min(j + Width, end - Width))
                    {
                        blocks.Add(new Block(places.Count, firstStep, count, Consecutive: true));
                        places.AddRange(at.GetRange(j, Width));
                        if (j + Width == end) break;
                    }
            }
            // Gathered blocks are filled up by repeating their last output (computed again, stored again, unchanged).
            while (rest.Count % Width != 0) rest.Add(rest[^1]);
            for (int j = 0; j < rest.Count; j += Width)
            {
                blocks.Add(new Block(places.Count, firstStep, count, Consecutive: false));
                places.AddRange(rest.GetRange(j, Width));
            }
        }
        return ([.. blocks], [.. places], [.. steps]);
    }

    /// <summary>The plan's windows as runs per kernel tap, for the per-run path and the backward.</summary>
    private static (int Out, int In, int Length)[][] WithRuns(Convolution.Plan p)
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
        return runs.Select(l => l.ToArray()).ToArray();
    }

    /// <summary>
    /// Outputs per block: 8 with 512-bit vectors (one vector of outputs per channel, <see cref="Sums{TVector}"/>), 6 with
    /// 256-bit ones (two vectors of channels per output, <see cref="SumsByChannel"/>), 0 without either (the per-run path).
    /// </summary>
    public static int Width { get; } = Vector512.IsHardwareAccelerated ? 8 : Vector256.IsHardwareAccelerated ? ChannelLaneOutputs : 0;

    /// <summary>Output channels per tile: <see cref="Sums{TVector}"/> keeps that many sums of <see cref="Width"/> outputs at once.</summary>
    private const int Channels = 8;

    /// <summary>The forward, into <paramref name="output"/> when given: bit for bit the reference's.</summary>
    public Tensor Forward(NamedTensors inputs, double[]? output)
    {
        if (Blocks.Length == 0) return ForwardByRuns(inputs, output);
        var (weights, biases) = Tiled(inputs);
        // Every output is in a block, which writes it: no need to zero the array first.
        var y = Tensor.OutputArray(p.OutputShape, output, uninitialized: true);
        int items = p.Batch * p.Groups * Tiles;
        // In parallel over (batch item, group, tile) when there is enough work; no two write one output, so the bits stay.
        if ((long)p.OutputShape.Count * p.InPerGroup * p.KernelVolume < ParallelWork)
        {
            for (int item = 0; item < items; item++) ForwardTile(inputs["input"].Span, weights, biases, y, item);
        }
        else Parallel.For(0, items, item => ForwardTile(inputs["input"].Span, weights, biases, y, item));
        return Tensor.Wrap(p.OutputShape, y);
    }

    /// <summary>Products per forward pass from which it is split across the cores: below it a pass is too short to pay for the split.</summary>
    private const long ParallelWork = 1 << 20;

    /// <summary>One (batch item, group, tile of output channels)'s outputs of the forward.</summary>
    private void ForwardTile(ReadOnlySpan<double> x, double[] weights, double[] biases, double[] y, int item)
    {
        int n = item / (p.Groups * Tiles), g = item / Tiles % p.Groups, tile = item % Tiles;
        int inPlane = p.Geometry.InputPlaneSize, outPlane = p.Geometry.OutputPlaneSize, tileSize = p.InPerGroup * p.KernelVolume * Channels;
        var gathered = ThreadBuffer(ref gatheredInputs, p.InPerGroup * p.KernelVolume * Width, clear: false); // each step's inputs written before they are read
        Span<double> sums = stackalloc double[Channels * Width];
        var xGroup = x.Slice((n * p.InChannels + g * p.InPerGroup) * inPlane, p.InPerGroup * inPlane);
        int firstOc = g * p.OutPerGroup + tile * Channels, channels = Math.Min(Channels, p.OutPerGroup - tile * Channels);
        var yTile = y.AsSpan((n * p.OutChannels + firstOc) * outPlane, channels * outPlane);
        var wTile = weights.AsSpan((g * Tiles + tile) * tileSize, tileSize);
        var bias = biases.AsSpan((g * Tiles + tile) * Channels, Channels);
        foreach (var block in Blocks)
        {
            var places = Places.AsSpan(block.First, Width);
            var steps = Steps.AsSpan(block.FirstStep, block.StepCount);
            if (block.Consecutive)
            {
                Sums(xGroup, places[0].In, steps, wTile, bias, yTile[places[0].Out..], outPlane, channels);
                continue;
            }
            Gather(xGroup, places, steps, gathered);
            Sums(gathered, 0, Steps.AsSpan(block.FirstStep + block.StepCount, block.StepCount), wTile, bias, sums, Width, channels);
            for (int c = 0; c < channels; c++)
                for (int l = 0; l < Width; l++) yTile[c * outPlane + places[l].Out] = sums[c * Width + l];
        }
    }

    /// <summary>Step k's inputs, one per output of <paramref name="places"/>, into <c>gathered[k·Width ..]</c>: one vector per step.</summary>
    private static void Gather(ReadOnlySpan<double> x, ReadOnlySpan<Place> places, ReadOnlySpan<Step> steps, Span<double> gathered)
    {
        ref double x0 = ref MemoryMarshal.GetReference(x);
        var into = gathered[..(steps.Length * Width)];
        for (int k = 0; k < steps.Length; k++)
        {
            int input = steps[k].Input;
            // The plan made In + Input an input of the place's output: inside x.
            for (int l = 0; l < Width; l++) into[k * Width + l] = Unsafe.Add(ref x0, places[l].In + input);
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
    private (double[] Weights, double[] Biases) Tiled(NamedTensors inputs)
    {
        var w = inputs["weight"].Span;
        int perOc = p.InPerGroup * p.KernelVolume;
        // Lanes past a group's last output channel, and every bias without one, must read 0; the others are all written.
        bool clear = p.OutPerGroup % Channels != 0 || !p.HasBias;
        var weights = ThreadBuffer(ref tiledWeights, p.Groups * Tiles * perOc * Channels, clear);
        var biases = ThreadBuffer(ref tiledBiases, p.Groups * Tiles * Channels, clear);
        var bias = p.HasBias ? inputs["bias"].Span : default;
        for (int oc = 0; oc < p.OutChannels; oc++)
        {
            int tile = oc / p.OutPerGroup * Tiles + oc % p.OutPerGroup / Channels, lane = oc % p.OutPerGroup % Channels;
            if (p.HasBias) biases[tile * Channels + lane] = bias[oc];
            for (int k = 0; k < perOc; k++) weights[(tile * perOc + k) * Channels + lane] = w[oc * perOc + k];
        }
        return (weights, biases);
    }

    /// <summary>
    /// The sums of <see cref="Width"/> consecutive outputs for a tile of <see cref="Channels"/> output channels; channel c's
    /// are written to <c>to[c·toStride ..]</c>, for the tile's first <paramref name="channels"/>. Step k multiplies the
    /// inputs <c>x[at + Input ..]</c>, one per output, by the weights <c>wTile[Weight ..]</c>, one per channel. Each sum
    /// starts from the bias and adds its products in step order (input channel by input channel, tap by tap; padding is no
    /// step: skipped, not added as a zero), each by a fused multiply-add (one rounding, as the reference: the bits do not
    /// depend on the path or the vector width). Eight channels' independent sums keep the unit busy while each waits for its
    /// previous step. An inline loop rather than TensorPrimitives: a step is one vector per channel, too short for a call.
    /// </summary>
    private static void Sums<TVector>(ReadOnlySpan<double> x, int at, ReadOnlySpan<Step> steps, ReadOnlySpan<double> wTile, ReadOnlySpan<double> bias,
        Span<double> to, int toStride, int channels) where TVector : struct, IVector<TVector>
    {
        var s0 = TVector.Broadcast(bias[0]); var s1 = TVector.Broadcast(bias[1]); var s2 = TVector.Broadcast(bias[2]); var s3 = TVector.Broadcast(bias[3]);
        var s4 = TVector.Broadcast(bias[4]); var s5 = TVector.Broadcast(bias[5]); var s6 = TVector.Broadcast(bias[6]); var s7 = TVector.Broadcast(bias[7]);
        // No bounds checks in the loop: the plan made at + Input + l an input of output l, and Weight a tap's place in the tile.
        ref double x0 = ref Unsafe.Add(ref MemoryMarshal.GetReference(x), at);
        ref double w0 = ref MemoryMarshal.GetReference(wTile);
        foreach (var (input, weight) in steps)
        {
            var xs = TVector.Load(ref x0, (nuint)input);
            ref double w = ref Unsafe.Add(ref w0, weight);
            s0 = TVector.MultiplyAdd(xs, w, s0);
            s1 = TVector.MultiplyAdd(xs, Unsafe.Add(ref w, 1), s1);
            s2 = TVector.MultiplyAdd(xs, Unsafe.Add(ref w, 2), s2);
            s3 = TVector.MultiplyAdd(xs, Unsafe.Add(ref w, 3), s3);
            s4 = TVector.MultiplyAdd(xs, Unsafe.Add(ref w, 4), s4);
            s5 = TVector.MultiplyAdd(xs, Unsafe.Add(ref w, 5), s5);
            s6 = TVector.MultiplyAdd(xs, Unsafe.Add(ref w, 6), s6);
            s7 = TVector.MultiplyAdd(xs, Unsafe.Add(ref w, 7), s7);
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

    private static void Sums(ReadOnlySpan<double> x, int at, ReadOnlySpan<Step> steps, ReadOnlySpan<double> wTile, ReadOnlySpan<double> bias,
        Span<double> to, int toStride, int channels)
    {
        if (Width == 8) Sums<Wide>(x, at, steps, wTile, bias, to, toStride, channels);
        else SumsByChannel(x, at, steps, wTile, bias, to, toStride, channels);
    }

    /// <summary>What <see cref="Sums{TVector}"/> needs of a vector of doubles; the JIT specialises it per struct, calls inlined.</summary>
    private interface IVector<TSelf> where TSelf : struct, IVector<TSelf>
    {
        static abstract TSelf Broadcast(double value);

        static abstract TSelf Load(ref double source, nuint offset);

        /// <summary>fma(x, broadcast(w), sum): one rounding.</summary>
        static abstract TSelf MultiplyAdd(TSelf x, double w, TSelf sum);

        void CopyTo(Span<double> destination);
    }

    private readonly struct Wide(Vector512<double> value) : IVector<Wide>
    {
        private readonly Vector512<double> v = value;

        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Wide Broadcast(double value) => new(Vector512.Create(value));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Wide Load(ref double source, nuint offset) => new(Vector512.LoadUnsafe(ref source, offset));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Wide MultiplyAdd(Wide x, double w, Wide sum) => new(Vector512.FusedMultiplyAdd(x.v, Vector512.Create(w), sum.v));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public void CopyTo(Span<double> destination) => v.CopyTo(destination);
    }


    /// <summary>
    /// The forward one output channel at a time, per kernel tap over runs of outputs (one TensorPrimitives fused
    /// multiply-add per run: one rounding), in the same per-output order as <see cref="Sums"/>: bias, input channel, tap.
    /// </summary>
    private Tensor ForwardByRuns(NamedTensors inputs, double[]? output)
    {
        var x = inputs["input"].Span;
        var w = inputs["weight"].Span;
        var bias = p.HasBias ? inputs["bias"].Span : default;
        var y = Tensor.OutputArray(p.OutputShape, output); // every plane is filled with its bias first
        int inPlane = p.Geometry.InputPlaneSize, outPlane = p.Geometry.OutputPlaneSize;
        for (int n = 0; n < p.Batch; n++)
            for (int oc = 0; oc < p.OutChannels; oc++)
            {
                int firstIc = oc / p.OutPerGroup * p.InPerGroup;
                var yPlane = y.AsSpan((n * p.OutChannels + oc) * outPlane, outPlane);
                yPlane.Fill(p.HasBias ? bias[oc] : 0);
                for (int icl = 0; icl < p.InPerGroup; icl++)
                {
                    var xPlane = x.Slice((n * p.InChannels + firstIc + icl) * inPlane, inPlane);
                    var wKernel = w.Slice((oc * p.InPerGroup + icl) * p.KernelVolume, p.KernelVolume);
                    for (int t = 0; t < p.KernelVolume; t++)
                        foreach (var (o, i, length) in Runs[t])
                        {
                            var dst = yPlane.Slice(o, length);
                            if (p.InStep == 1) TensorPrimitives.FusedMultiplyAdd(xPlane.Slice(i, length), wKernel[t], dst, dst);
                            else for (int r = 0; r < length; r++) dst[r] = Math.FusedMultiplyAdd(wKernel[t], xPlane[i + r * p.InStep], dst[r]);
                        }
                }
            }
        return Tensor.Wrap(p.OutputShape, y);
    }

    /// <summary>The backward, in parallel: bit for bit the reference's serial loop.</summary>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
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
        // blocks of output channels (ConvolutionWeightGradient), in parallel: no two items write one element, so the bits
        // do not depend on the split. The weight's blocks come first: they are the larger items.
        int blocks = weightGradient.Blocks;
        // With finite weights (rank 2), the input's gradient register-blocked instead (ConvolutionInputGradient), first.
        bool blocked = inputGradient is not null && ConvolutionInputGradient.Applies(wT.Span);
        if (blocked) inputGradient!.Compute(wT.Span, gradOutput, dx);
        Parallel.For(0, blocks + (blocked ? 0 : p.Batch * p.InChannels), item =>
        {
            ReadOnlySpan<double> x = xT.Span, w = wT.Span, dy = gradOutput.Span;
            if (item < blocks)
            {
                weightGradient.Block(item, x, dy, dw, db);
                return;
            }
            item -= blocks;
            int n = item / p.InChannels, ic = item % p.InChannels, icl = ic % p.InPerGroup, group = ic / p.InPerGroup;
            var dxPlane = dx.AsSpan(item * inPlane, inPlane);
            for (int oc = group * p.OutPerGroup; oc < (group + 1) * p.OutPerGroup; oc++)
            {
                var dyPlane = dy.Slice((n * p.OutChannels + oc) * outPlane, outPlane);
                for (int t = p.KernelVolume - 1; t >= 0; t--)
                {
                    double wt = w[(oc * p.InPerGroup + icl) * p.KernelVolume + t];
                    foreach (var (o, i, length) in Runs[t])
                    {
                        if (p.InStep == 1) TensorPrimitives.MultiplyAdd(dyPlane.Slice(o, length), wt, dxPlane.Slice(i, length), dxPlane.Slice(i, length));
                        else for (int r = 0; r < length; r++) dxPlane[i + r * p.InStep] += dyPlane[o + r] * wt;
                    }
                }
            }
        });
        var grads = new List<(string, Tensor)> { ("input", Tensor.Wrap(xT.Shape, dx)), ("weight", Tensor.Wrap(wT.Shape, dw)) };
        if (p.HasBias) grads.Add(("bias", Tensor.Wrap(Shape.Of(p.OutChannels), db)));
        return new NamedTensors(grads.ToArray());
    }
}
