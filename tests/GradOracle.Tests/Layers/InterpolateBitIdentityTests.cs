using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>
/// interpolate's plane-by-plane kernel against the plainest loop over (output position, plane), bit for bit: each output
/// its taps' w·x in order from +0, and dx's sums in the order of that loop (position by position, tap by tap).
/// </summary>
public class InterpolateBitIdentityTests
{
    [TestCase("nearest", new[] { 2, 3, 5 }, new[] { 11 }, null, 0)]
    [TestCase("linear", new[] { 2, 3, 7 }, new[] { 16 }, false, 1)]
    [TestCase("bilinear", new[] { 2, 3, 6, 5 }, new[] { 13, 9 }, false, 2)]
    [TestCase("bilinear", new[] { 1, 4, 7, 7 }, new[] { 14, 5 }, true, 3)]
    [TestCase("bicubic", new[] { 2, 2, 5, 6 }, new[] { 9, 13 }, false, 4)]
    [TestCase("trilinear", new[] { 1, 3, 3, 4, 5 }, new[] { 6, 7, 9 }, false, 5)]
    [TestCase("nearest-exact", new[] { 2, 2, 4, 6 }, new[] { 7, 11 }, null, 6)]
    public void Forward_and_backward_match_the_serial_loop_with_special_values(string mode, int[] shape, int[] size, bool? alignCorners, int seed)
    {
        var rng = new Random(seed);
        var x = Bits.Sprinkled(Samples.Distinct(Shape.Of(shape), seed + 1), rng);
        var op = new Interpolate(mode, size: size, alignCorners: alignCorners);
        var inputs = NamedTensors.Input(x);
        var outShape = Shape.Of([shape[0], shape[1], .. size]);
        var dy = Bits.Sprinkled(Samples.Scaled(outShape, seed + 2, 1), rng);

        var axes = op.Axes(x.Shape);
        int planes = shape[0] * shape[1], inPlane = x.Count / planes, outPlane = outShape.Count / planes;
        var (y, dx) = (new double[outShape.Count], new double[x.Count]);
        for (int o = 0; o < outPlane; o++)
        {
            var taps = new List<(int Index, double Weight)> { (0, 1) };
            for (int a = 0, inStride = inPlane, outStride = outPlane; a < axes.Length; a++)
            {
                (inStride, outStride) = (inStride / axes[a].InputSize, outStride / axes[a].OutputSize);
                int coordinate = o / outStride % axes[a].OutputSize, s = inStride;
                taps = [.. taps.SelectMany(t => axes[a].Taps[coordinate].Select(u => (t.Index + u.Index * s, t.Weight * u.Weight)))];
            }
            for (int p = 0; p < planes; p++)
            {
                double sum = 0;
                foreach (var (i, w) in taps) sum += w * x.At(p * inPlane + i);
                y[p * outPlane + o] = sum;
                foreach (var (i, w) in taps) dx[p * inPlane + i] += w * dy.At(p * outPlane + o);
            }
        }
        Bits.AssertEqual(op.Forward(inputs).ToArray(), y, "output");
        Bits.AssertEqual(op.Backward(inputs, dy)["input"].ToArray(), dx, "grad input");
    }
}
