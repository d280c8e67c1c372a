using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace GradOracle.Layers;

/// <summary>
/// Convolution's input gradient (rank 2) register-blocked: eight input cells of one row and one stride phase (cells
/// <c>ix0 + stride·l</c>, which read consecutive grad_output positions for any tap) for up to six input channels at once,
/// each cell's sum kept in a register over output channel after output channel and, within one, tap by tap backwards:
/// the order of the reference's serial loop, each product rounded and then added (not fused), from +0. So the bits are
/// <see cref="Convolution.ReferenceBackward"/>'s. grad_output is read from a copy with a margin of zeros: a tap past the
/// border then adds <c>0·w</c>, which is ±0 for a finite weight and leaves every sum unchanged (a sum started at +0 is
/// never -0); a tap the stride skips is no term at all. Hence <see cref="Applies"/>: finite weights only.
/// </summary>
internal sealed class ConvolutionInputGradient
{
    /// <summary>Cells per block: two <see cref="Vector256{T}"/> of doubles.</summary>
    private const int Cells = 8;

    /// <summary>Input channels per weight group in the rearranged weights (the most one block carries).</summary>
    private const int MaxChannels = 6;

    private readonly Convolution.Plan p;
    private readonly Axis rows, cols;
    private readonly int kx;

    /// <summary>
    /// Per input row and column phase: the valid taps in backward order, as (offset into the padded grad_output plane from
    /// the phase's first cell, tap).
    /// </summary>
    private readonly (int Offset, int Tap)[][][] steps;

    /// <summary>One spatial axis: sizes, stride, padding before, dilation, and the padded grad_output's margin before and length.</summary>
    private readonly record struct Axis(int In, int Out, int Kernel, int Stride, int Pad, int Dilation, int Margin, int Padded)
    {
        /// <summary>The output an input cell's tap k reads, or null when the stride skips it (outside [0, Out) is the margin's).</summary>
        public int? Output(int cell, int k) => (cell + Pad - k * Dilation) is var v && v % Stride == 0 ? v / Stride : null;

        public static Axis Of(Geometry.AxisWindows a)
        {
            int stride = a.OutputSize > 1 ? a.Start(1) - a.Start(0) : 1, pad = -a.Start(0);
            var axis = new Axis(a.InputSize, a.OutputSize, a.MaxTaps, stride, pad, a.Step, 0, 0);
            int lo = 0, hi = a.OutputSize - 1;
            for (int i = 0; i < a.InputSize; i++)
                for (int k = 0; k < a.MaxTaps; k++)
                    if (axis.Output(i, k) is { } o) (lo, hi) = (Math.Min(lo, o), Math.Max(hi, o));
            return axis with { Margin = -lo, Padded = hi - lo + 1 };
        }
    }

    private ConvolutionInputGradient(Convolution.Plan plan)
    {
        p = plan;
        (rows, cols) = (Axis.Of(plan.Geometry.Axes[0]), Axis.Of(plan.Geometry.Axes[1]));
        kx = cols.Kernel;
        steps = new (int, int)[rows.In][][];
        for (int iy = 0; iy < rows.In; iy++)
        {
            steps[iy] = new (int, int)[cols.Stride][];
            for (int phase = 0; phase < cols.Stride; phase++)
            {
                var list = new List<(int, int)>();
                for (int t = p.KernelVolume - 1; t >= 0; t--)
                    if (rows.Output(iy, t / kx) is { } oy && cols.Output(phase, t % kx) is { } ox)
                        list.Add(((oy + rows.Margin) * cols.Padded + ox + cols.Margin, t));
                steps[iy][phase] = [.. list];
            }
        }
    }

    /// <summary>The blocked input gradient for a plan, or null where it does not apply (rank other than 2, rows too short).</summary>
    public static ConvolutionInputGradient? For(Convolution.Plan plan) =>
        plan.Geometry.Rank == 2 && Axis.Of(plan.Geometry.Axes[1]) is var c && c.In / c.Stride >= Cells + 1 ? new ConvolutionInputGradient(plan) : null;

    /// <summary>Whether the blocked path gives the reference's bits for these weights: all finite (see the class summary).</summary>
    public static bool Applies(ReadOnlySpan<double> w)
    {
        foreach (double v in w) if (!double.IsFinite(v)) return false;
        return true;
    }

    /// <summary>Work items: (batch item, block of input channels), in <see cref="Compute"/>'s order.</summary>
    private (int First, int Count)[] ChannelBlocks => channelBlocks ??= BlocksOf(p.InPerGroup);
    private (int First, int Count)[]? channelBlocks;

    private static (int, int)[] BlocksOf(int channels)
    {
        var blocks = new List<(int, int)>();
        for (int c = 0; c < channels;)
        {
            int count = channels - c >= 6 ? 6 : channels - c >= 3 ? 3 : 1;
            blocks.Add((c, count));
            c += count;
        }
        return [.. blocks];
    }

    /// <summary>The input gradient into <paramref name="dx"/> (every element written), in parallel over batch items and channel blocks.</summary>
    public void Compute(ReadOnlySpan<double> w, GradOracle.Tensors.Tensor gradOutput, double[] dx)
    {
        int padded = rows.Padded * cols.Padded, outPlane = p.Geometry.OutputPlaneSize, taps = p.KernelVolume;
        var dyP = ArrayPool<double>.Shared.Rent(p.Batch * p.OutChannels * padded);
        // The weights by (group, channel block, output channel of the group, tap, channel of the block): one broadcast each.
        var blocks = ChannelBlocks;
        var wB = ArrayPool<double>.Shared.Rent(p.Groups * blocks.Length * p.OutPerGroup * taps * MaxChannels);
        try
        {
            Parallel.For(0, p.Batch * p.OutChannels, plane =>
            {
                var to = dyP.AsSpan(plane * padded, padded);
                to.Clear();
                for (int oy = 0; oy < rows.Out; oy++)
                    gradOutput.Span.Slice(plane * outPlane + oy * cols.Out, cols.Out).CopyTo(to[((oy + rows.Margin) * cols.Padded + cols.Margin)..]);
            });
            for (int g = 0; g < p.Groups; g++)
                for (int b = 0; b < blocks.Length; b++)
                    for (int ocl = 0; ocl < p.OutPerGroup; ocl++)
                        for (int t = 0; t < taps; t++)
                            for (int j = 0; j < MaxChannels; j++)
                            {
                                int icl = blocks[b].First + Math.Min(j, blocks[b].Count - 1), oc = g * p.OutPerGroup + ocl;
                                wB[(((g * blocks.Length + b) * p.OutPerGroup + ocl) * taps + t) * MaxChannels + j] = w[(oc * p.InPerGroup + icl) * taps + t];
                            }
            Parallel.For(0, p.Batch * p.Groups * blocks.Length, item =>
            {
                int n = item / (p.Groups * blocks.Length), g = item / blocks.Length % p.Groups, b = item % blocks.Length;
                var (first, count) = blocks[b];
                int firstIc = g * p.InPerGroup + first;
                ref double dyN = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(dyP), (n * p.OutChannels + g * p.OutPerGroup) * padded);
                ref double wG = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(wB), (g * blocks.Length + b) * p.OutPerGroup * taps * MaxChannels);
                ref double dxN = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(dx), (n * p.InChannels + firstIc) * p.Geometry.InputPlaneSize);
                for (int iy = 0; iy < rows.In; iy++)
                    for (int phase = 0; phase < cols.Stride; phase++)
                    {
                        // Cells phase, phase + stride, ...: blocks of eight, the last one ending at the row's end (cells in
                        // two blocks get the same sums twice).
                        int cells = (cols.In - phase + cols.Stride - 1) / cols.Stride;
                        for (int c = 0; ; c = Math.Min(c + Cells, cells - Cells))
                        {
                            ref double dxAt = ref Unsafe.Add(ref dxN, iy * cols.In + phase + c * cols.Stride);
                            if (count == 6) Block<Six>(steps[iy][phase], ref Unsafe.Add(ref dyN, c), padded, ref wG, p.OutPerGroup, taps, ref dxAt, cols.Stride);
                            else if (count == 3) Block<Three>(steps[iy][phase], ref Unsafe.Add(ref dyN, c), padded, ref wG, p.OutPerGroup, taps, ref dxAt, cols.Stride);
                            else Block<One>(steps[iy][phase], ref Unsafe.Add(ref dyN, c), padded, ref wG, p.OutPerGroup, taps, ref dxAt, cols.Stride);
                            if (c + Cells == cells) break;
                        }
                    }
            });
        }
        finally
        {
            ArrayPool<double>.Shared.Return(dyP);
            ArrayPool<double>.Shared.Return(wB);
        }
    }

    /// <summary>How many input channels one <see cref="Block{TCount}"/> call carries; the JIT specialises per struct.</summary>
    private interface ICount { static abstract int Value { get; } }

    private readonly struct Six : ICount { public static int Value => 6; }

    private readonly struct Three : ICount { public static int Value => 3; }

    private readonly struct One : ICount { public static int Value => 1; }

    /// <summary>
    /// Eight cells' sums for TCount input channels: over the group's output channels, each one's valid taps in backward
    /// order, <c>sum += dy·w</c>; written to <paramref name="dx"/> (channel j's plane at j·plane, cells <paramref name="stride"/> apart).
    /// </summary>
    // Fully optimised from the first call: a pass makes few calls, each a long loop, that tiering would run unoptimised.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Block<TCount>((int Offset, int Tap)[] steps, ref double dy, int padded, ref double w, int outChannels, int taps,
        ref double dx, int stride) where TCount : struct, ICount
    {
        int count = TCount.Value;
        Vector256<double> s00 = default, s01 = default, s10 = default, s11 = default, s20 = default, s21 = default,
            s30 = default, s31 = default, s40 = default, s41 = default, s50 = default, s51 = default;
        // The margins make every step's eight reads lie inside the padded plane; the weights' inside the rearranged array.
        for (int oc = 0; oc < outChannels; oc++)
        {
            ref double d = ref Unsafe.Add(ref dy, oc * padded);
            ref double wOc = ref Unsafe.Add(ref w, oc * taps * MaxChannels);
            foreach (var (offset, tap) in steps)
            {
                var g0 = Vector256.LoadUnsafe(ref d, (nuint)offset);
                var g1 = Vector256.LoadUnsafe(ref d, (nuint)offset + 4);
                ref double wt = ref Unsafe.Add(ref wOc, tap * MaxChannels);
                var v = Vector256.Create(wt); s00 += g0 * v; s01 += g1 * v;
                if (count > 1)
                {
                    v = Vector256.Create(Unsafe.Add(ref wt, 1)); s10 += g0 * v; s11 += g1 * v;
                    v = Vector256.Create(Unsafe.Add(ref wt, 2)); s20 += g0 * v; s21 += g1 * v;
                }
                if (count > 3)
                {
                    v = Vector256.Create(Unsafe.Add(ref wt, 3)); s30 += g0 * v; s31 += g1 * v;
                    v = Vector256.Create(Unsafe.Add(ref wt, 4)); s40 += g0 * v; s41 += g1 * v;
                    v = Vector256.Create(Unsafe.Add(ref wt, 5)); s50 += g0 * v; s51 += g1 * v;
                }
            }
        }
        int plane = p.Geometry.InputPlaneSize;
        Store(s00, s01, ref dx, stride);
        if (count > 1) { Store(s10, s11, ref Unsafe.Add(ref dx, plane), stride); Store(s20, s21, ref Unsafe.Add(ref dx, 2 * plane), stride); }
        if (count > 3)
        {
            Store(s30, s31, ref Unsafe.Add(ref dx, 3 * plane), stride);
            Store(s40, s41, ref Unsafe.Add(ref dx, 4 * plane), stride);
            Store(s50, s51, ref Unsafe.Add(ref dx, 5 * plane), stride);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector256<double> a, Vector256<double> b, ref double to, int stride)
    {
        if (stride == 1) { a.StoreUnsafe(ref to); b.StoreUnsafe(ref to, 4); return; }
        for (int l = 0; l < 4; l++) Unsafe.Add(ref to, l * stride) = a[l];
        for (int l = 0; l < 4; l++) Unsafe.Add(ref to, (4 + l) * stride) = b[l];
    }
}
