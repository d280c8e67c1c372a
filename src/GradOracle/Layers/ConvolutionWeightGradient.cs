using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace GradOracle.Layers;

/// <summary>
/// Convolution's weight and bias gradients as a register-blocked product: dw as [C_out x C_in·K] accumulated over
/// (batch item, output position) in that order, eight output channels per pair of vectors and up to six input channels
/// of one tap at once. Every dw element is still one sum whose terms come in the reference's serial order, each product
/// rounded and then added (not fused), from +0: blocking only runs independent sums side by side, so the bits are
/// <see cref="Convolution.ReferenceBackward"/>'s. Padding is no term: a tap's sum runs over the tap's runs of valid outputs.
/// </summary>
internal sealed class ConvolutionWeightGradient
{
    /// <summary>Output channels per block: two <see cref="Vector256{T}"/> of doubles.</summary>
    private const int Lanes = 8;

    /// <summary>Output positions per chunk: a chunk's grad_output and input rows stay in cache while every tap reads them.</summary>
    private const int ChunkOutputs = 512;

    private readonly Convolution.Plan p;

    /// <summary>Per chunk of output positions, per tap: the tap's runs (as <see cref="ConvolutionKernel"/>'s) clipped to the chunk.</summary>
    private readonly (int Out, int In, int Length)[][][] chunks;

    public ConvolutionWeightGradient(Convolution.Plan plan, (int Out, int In, int Length)[][] runs)
    {
        p = plan;
        int outPlane = plan.Geometry.OutputPlaneSize, count = (outPlane + ChunkOutputs - 1) / ChunkOutputs;
        chunks = new (int, int, int)[count][][];
        for (int c = 0; c < count; c++)
        {
            int lo = c * ChunkOutputs, hi = Math.Min(outPlane, lo + ChunkOutputs);
            chunks[c] = runs.Select(tap => tap
                .Where(r => r.Out < hi && r.Out + r.Length > lo)
                .Select(r =>
                {
                    int from = Math.Max(r.Out, lo), to = Math.Min(r.Out + r.Length, hi);
                    return (from, r.In + (from - r.Out) * plan.InStep, to - from);
                }).ToArray()).ToArray();
        }
    }

    /// <summary>Blocks of <see cref="Lanes"/> output channels per group; the work items of <see cref="Block"/>.</summary>
    public int Blocks => p.Groups * BlocksPerGroup;

    private int BlocksPerGroup => (p.OutPerGroup + Lanes - 1) / Lanes;

    /// <summary>Block <paramref name="block"/>'s output channels' weight gradients into <paramref name="dw"/>, and bias gradients into <paramref name="db"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a few calls per pass, each a long loop nest
    public void Block(int block, ReadOnlySpan<double> x, ReadOnlySpan<double> dy, Span<double> dw, Span<double> db)
    {
        int group = block / BlocksPerGroup, firstOc = group * p.OutPerGroup + block % BlocksPerGroup * Lanes;
        int lanes = Math.Min(Lanes, (group + 1) * p.OutPerGroup - firstOc), firstIc = group * p.InPerGroup;
        int outPlane = p.Geometry.OutputPlaneSize, inPlane = p.Geometry.InputPlaneSize, taps = p.KernelVolume;
        // grad_output transposed to (batch item, position, lane): a position's eight channels are two vector loads. Lanes
        // past the group's last channel hold 0; their sums are never stored.
        int positions = p.Batch * outPlane;
        var dyT = ArrayPool<double>.Shared.Rent(positions * Lanes);
        var sums = ArrayPool<double>.Shared.Rent(p.InPerGroup * taps * Lanes);
        try
        {
            for (int n = 0; n < p.Batch; n++)
                for (int l = 0; l < Lanes; l++)
                {
                    var to = dyT.AsSpan(n * outPlane * Lanes);
                    if (l >= lanes) { for (int o = 0; o < outPlane; o++) to[o * Lanes + l] = 0; continue; }
                    var from = dy.Slice((n * p.OutChannels + firstOc + l) * outPlane, outPlane);
                    for (int o = 0; o < outPlane; o++) to[o * Lanes + l] = from[o];
                }
            BiasSums(dyT.AsSpan(0, positions * Lanes), db, firstOc, lanes);

            // Each (input channel, tap, lane) sum, from +0, is stored between chunks and loaded again: the same bits.
            var acc = sums.AsSpan(0, p.InPerGroup * taps * Lanes);
            acc.Clear();
            ref double d0 = ref MemoryMarshal.GetArrayDataReference(dyT);
            ref double x0 = ref MemoryMarshal.GetReference(x);
            ref double a0 = ref MemoryMarshal.GetReference(acc);
            for (int n = 0; n < p.Batch; n++)
                foreach (var chunk in chunks)
                    for (int t = 0; t < taps; t++)
                    {
                        var runs = chunk[t];
                        if (runs.Length == 0) continue;
                        for (int icl = 0; icl < p.InPerGroup;)
                        {
                            ref double xs = ref Unsafe.Add(ref x0, (n * p.InChannels + firstIc + icl) * inPlane);
                            ref double ds = ref Unsafe.Add(ref d0, n * outPlane * Lanes);
                            ref double a = ref Unsafe.Add(ref a0, (icl * taps + t) * Lanes);
                            int left = p.InPerGroup - icl;
                            if (left >= 6) { Accumulate<Six>(runs, ref xs, inPlane, p.InStep, ref ds, ref a, taps * Lanes); icl += 6; }
                            else if (left >= 3) { Accumulate<Three>(runs, ref xs, inPlane, p.InStep, ref ds, ref a, taps * Lanes); icl += 3; }
                            else { Accumulate<One>(runs, ref xs, inPlane, p.InStep, ref ds, ref a, taps * Lanes); icl += 1; }
                        }
                    }
            for (int l = 0; l < lanes; l++)
                for (int k = 0; k < p.InPerGroup * taps; k++)
                    dw[(firstOc + l) * p.InPerGroup * taps + k] = acc[k * Lanes + l];
        }
        finally
        {
            ArrayPool<double>.Shared.Return(dyT);
            ArrayPool<double>.Shared.Return(sums);
        }
    }

    /// <summary>db of the block's channels: grad_output summed over batch item, then position, from +0 (the serial order).</summary>
    private static void BiasSums(ReadOnlySpan<double> dyT, Span<double> db, int firstOc, int lanes)
    {
        Vector256<double> s0 = Vector256<double>.Zero, s1 = Vector256<double>.Zero;
        ref double d = ref MemoryMarshal.GetReference(dyT);
        for (int k = 0; k < dyT.Length; k += Lanes)
        {
            s0 += Vector256.LoadUnsafe(ref d, (nuint)k);
            s1 += Vector256.LoadUnsafe(ref d, (nuint)k + 4);
        }
        Span<double> lane = stackalloc double[Lanes];
        s0.CopyTo(lane);
        s1.CopyTo(lane[4..]);
        for (int l = 0; l < lanes; l++) db[firstOc + l] = lane[l];
    }

    /// <summary>How many input channels one <see cref="Accumulate{TCount}"/> call carries; the JIT specialises per struct.</summary>
    private interface ICount { static abstract int Value { get; } }

    private readonly struct Six : ICount { public static int Value => 6; }

    private readonly struct Three : ICount { public static int Value => 3; }

    private readonly struct One : ICount { public static int Value => 1; }

    /// <summary>
    /// Adds <c>dy·x</c> (rounded, then added) to TCount input channels' sums of one tap, for eight output channels, over the
    /// tap's runs in output order. <paramref name="a"/> holds channel j's sums at <c>j·aStride</c>, eight lanes each;
    /// <paramref name="x"/> is the first channel's input plane, channel j's at <c>j·inPlane</c>.
    /// </summary>
    // Fully optimised from the first call: a pass makes few calls, each a long loop, that tiering would run unoptimised.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Accumulate<TCount>(ReadOnlySpan<(int Out, int In, int Length)> runs, ref double x, int inPlane, int inStep,
        ref double dyT, ref double a, int aStride) where TCount : struct, ICount
    {
        int count = TCount.Value;
        // The plan made every run's outputs and inputs lie inside the planes; the sums' places lie inside the block's.
        var s00 = Vector256.LoadUnsafe(ref a); var s01 = Vector256.LoadUnsafe(ref a, 4);
        Vector256<double> s10 = default, s11 = default, s20 = default, s21 = default, s30 = default, s31 = default,
            s40 = default, s41 = default, s50 = default, s51 = default;
        if (count > 1)
        {
            s10 = Vector256.LoadUnsafe(ref a, (nuint)aStride); s11 = Vector256.LoadUnsafe(ref a, (nuint)aStride + 4);
            s20 = Vector256.LoadUnsafe(ref a, (nuint)(2 * aStride)); s21 = Vector256.LoadUnsafe(ref a, (nuint)(2 * aStride) + 4);
        }
        if (count > 3)
        {
            s30 = Vector256.LoadUnsafe(ref a, (nuint)(3 * aStride)); s31 = Vector256.LoadUnsafe(ref a, (nuint)(3 * aStride) + 4);
            s40 = Vector256.LoadUnsafe(ref a, (nuint)(4 * aStride)); s41 = Vector256.LoadUnsafe(ref a, (nuint)(4 * aStride) + 4);
            s50 = Vector256.LoadUnsafe(ref a, (nuint)(5 * aStride)); s51 = Vector256.LoadUnsafe(ref a, (nuint)(5 * aStride) + 4);
        }
        foreach (var (o, i, length) in runs)
        {
            ref double d = ref Unsafe.Add(ref dyT, o * Lanes);
            ref double x0 = ref Unsafe.Add(ref x, i);
            for (int r = 0; r < length; r++)
            {
                var g0 = Vector256.LoadUnsafe(ref d, (nuint)(r * Lanes));
                var g1 = Vector256.LoadUnsafe(ref d, (nuint)(r * Lanes + 4));
                ref double xr = ref Unsafe.Add(ref x0, r * inStep);
                var v = Vector256.Create(xr);
                s00 += g0 * v; s01 += g1 * v;
                if (count > 1)
                {
                    v = Vector256.Create(Unsafe.Add(ref xr, inPlane)); s10 += g0 * v; s11 += g1 * v;
                    v = Vector256.Create(Unsafe.Add(ref xr, 2 * inPlane)); s20 += g0 * v; s21 += g1 * v;
                }
                if (count > 3)
                {
                    v = Vector256.Create(Unsafe.Add(ref xr, 3 * inPlane)); s30 += g0 * v; s31 += g1 * v;
                    v = Vector256.Create(Unsafe.Add(ref xr, 4 * inPlane)); s40 += g0 * v; s41 += g1 * v;
                    v = Vector256.Create(Unsafe.Add(ref xr, 5 * inPlane)); s50 += g0 * v; s51 += g1 * v;
                }
            }
        }
        s00.StoreUnsafe(ref a); s01.StoreUnsafe(ref a, 4);
        if (count > 1)
        {
            s10.StoreUnsafe(ref a, (nuint)aStride); s11.StoreUnsafe(ref a, (nuint)aStride + 4);
            s20.StoreUnsafe(ref a, (nuint)(2 * aStride)); s21.StoreUnsafe(ref a, (nuint)(2 * aStride) + 4);
        }
        if (count > 3)
        {
            s30.StoreUnsafe(ref a, (nuint)(3 * aStride)); s31.StoreUnsafe(ref a, (nuint)(3 * aStride) + 4);
            s40.StoreUnsafe(ref a, (nuint)(4 * aStride)); s41.StoreUnsafe(ref a, (nuint)(4 * aStride) + 4);
            s50.StoreUnsafe(ref a, (nuint)(5 * aStride)); s51.StoreUnsafe(ref a, (nuint)(5 * aStride) + 4);
        }
    }
}
