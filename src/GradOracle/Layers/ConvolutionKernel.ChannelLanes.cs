using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace GradOracle.Layers;

internal sealed partial class ConvolutionKernel
{
    /// <summary>Outputs per block of <see cref="SumsByChannel"/>: six outputs by two vectors of channels fill twelve of the sixteen 256-bit registers.</summary>
    private const int ChannelLaneOutputs = 6;

    /// <summary>
    /// <see cref="Sums{TVector}"/>'s sums with 256-bit vectors, lanes over output channels instead of outputs: for each of
    /// <see cref="ChannelLaneOutputs"/> outputs two vectors hold the tile's eight channels' sums. A step loads the tap's
    /// eight weights (two vectors, the tile's layout) once and broadcasts each output's input, so a step costs two loads
    /// and six broadcasts for twelve fused multiply-adds (one vector of outputs per channel would need a broadcast per
    /// channel). Each sum still starts from the bias and adds its products in step order, one rounding each: the same bits.
    /// </summary>
    private static void SumsByChannel(ReadOnlySpan<double> x, int at, ReadOnlySpan<Step> steps, ReadOnlySpan<double> wTile, ReadOnlySpan<double> bias,
        Span<double> to, int toStride, int channels)
    {
        Span<double> sums = stackalloc double[ChannelLaneOutputs * Channels];
        ChannelLanes(ref Unsafe.Add(ref MemoryMarshal.GetReference(x), at), steps, ref MemoryMarshal.GetReference(wTile), bias, ref MemoryMarshal.GetReference(sums));
        // Lanes are channels: output l's sums go to to[c·toStride + l], for the tile's first channels only.
        for (int c = 0; c < channels; c++)
            for (int l = 0; l < ChannelLaneOutputs; l++) to[c * toStride + l] = sums[l * Channels + c];
    }

    /// <summary>
    /// The twelve vectors of sums into <paramref name="sums"/> (output l's eight channels at l·8). No call after the loop:
    /// every vector register is lost across a call, and the JIT would then keep the sums in memory inside the loop too.
    /// </summary>
    // Fully optimised from the first call: a pass makes few calls, each a long loop, that tiering would run unoptimised.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ChannelLanes(ref double x0, ReadOnlySpan<Step> steps, ref double w0, ReadOnlySpan<double> bias, ref double sums)
    {
        var b0 = Vector256.Create(bias[..4]);
        var b1 = Vector256.Create(bias.Slice(4, 4));
        Vector256<double> s00 = b0, s01 = b1, s10 = b0, s11 = b1, s20 = b0, s21 = b1, s30 = b0, s31 = b1, s40 = b0, s41 = b1, s50 = b0, s51 = b1;
        // No bounds checks in the loop: the plan made Input + l an input of output l, and Weight a tap's place in the tile.
        foreach (var (input, weight) in steps)
        {
            var w00 = Vector256.LoadUnsafe(ref w0, (nuint)weight);
            var w01 = Vector256.LoadUnsafe(ref w0, (nuint)weight + 4);
            ref double xs = ref Unsafe.Add(ref x0, input);
            var v = Vector256.Create(xs); s00 = Vector256.FusedMultiplyAdd(w00, v, s00); s01 = Vector256.FusedMultiplyAdd(w01, v, s01);
            v = Vector256.Create(Unsafe.Add(ref xs, 1)); s10 = Vector256.FusedMultiplyAdd(w00, v, s10); s11 = Vector256.FusedMultiplyAdd(w01, v, s11);
            v = Vector256.Create(Unsafe.Add(ref xs, 2)); s20 = Vector256.FusedMultiplyAdd(w00, v, s20); s21 = Vector256.FusedMultiplyAdd(w01, v, s21);
            v = Vector256.Create(Unsafe.Add(ref xs, 3)); s30 = Vector256.FusedMultiplyAdd(w00, v, s30); s31 = Vector256.FusedMultiplyAdd(w01, v, s31);
            v = Vector256.Create(Unsafe.Add(ref xs, 4)); s40 = Vector256.FusedMultiplyAdd(w00, v, s40); s41 = Vector256.FusedMultiplyAdd(w01, v, s41);
            v = Vector256.Create(Unsafe.Add(ref xs, 5)); s50 = Vector256.FusedMultiplyAdd(w00, v, s50); s51 = Vector256.FusedMultiplyAdd(w01, v, s51);
        }
        s00.StoreUnsafe(ref sums, 0); s01.StoreUnsafe(ref sums, 4); s10.StoreUnsafe(ref sums, 8); s11.StoreUnsafe(ref sums, 12);
        s20.StoreUnsafe(ref sums, 16); s21.StoreUnsafe(ref sums, 20); s30.StoreUnsafe(ref sums, 24); s31.StoreUnsafe(ref sums, 28);
        s40.StoreUnsafe(ref sums, 32); s41.StoreUnsafe(ref sums, 36); s50.StoreUnsafe(ref sums, 40); s51.StoreUnsafe(ref sums, 44);
    }
}
