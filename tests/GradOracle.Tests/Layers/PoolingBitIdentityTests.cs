using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>
/// Pooling's plane-by-plane passes against the plainest loops over (output position, plane), each window gathered from
/// the geometry, bit for bit, on inputs large enough to be split across cores and with special values and ties.
/// </summary>
public class PoolingBitIdentityTests
{
    private static IEnumerable<TestCaseData> Layers()
    {
        yield return new TestCaseData(MaxPool.Create(2, [3], [2], [1]), false).SetArgDisplayNames("max_pool2d k3 s2 p1");
        yield return new TestCaseData(MaxPool.Create(2, [2], [2], tiePolicy: TiePolicy.Split, nanRule: NanRule.PropagateSplit), false).SetArgDisplayNames("max_pool2d k2 split");
        yield return new TestCaseData(MaxPool.Create(2, [3], [2], [1], [2], ceilMode: true), false).SetArgDisplayNames("max_pool2d dilated ceil");
        yield return new TestCaseData(AvgPool.Create(2, [3], [2], [1]), false).SetArgDisplayNames("avg_pool2d k3 s2 p1");
        yield return new TestCaseData(AvgPool.Create(2, [3], [2], [1], ceilMode: true, countIncludePad: false), false).SetArgDisplayNames("avg_pool2d no pad count");
        yield return new TestCaseData(LpPool.Create(2, 2, [2], [2]), true).SetArgDisplayNames("lp_pool2d p2");
        yield return new TestCaseData(LpPool.Create(2, 1.5, [3], [2], ceilMode: true), true).SetArgDisplayNames("lp_pool2d p1.5 ceil");
    }

    [TestCaseSource(nameof(Layers))]
    public void Forward_and_backward_match_the_serial_loops(IOp op, bool positive)
    {
        var rng = new Random(7);
        var x = Samples.Ties(Shape.Of(8, 16, 33, 29), 3);
        if (positive) x = Tensor.Create(x.Shape, i => Math.Abs(x.At(i)) + 0.25);
        var specials = positive ? [0.0, double.PositiveInfinity] : new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.0, 0.0 };
        foreach (var v in specials) x = Samples.With(x, v, [.. Enumerable.Range(0, 200).Select(_ => rng.Next(x.Count))]);
        var inputs = NamedTensors.Input(x);
        var y = op.Forward(inputs);
        var dy = Samples.Scaled(y.Shape, 11, 1);
        var (expectedY, expectedDx) = SerialLoops(op, x, dy);
        Bits.AssertEqual(y.ToArray(), expectedY, "output");
        Bits.AssertEqual(op.Backward(inputs, dy)["input"].ToArray(), expectedDx, "grad input");
    }

    private static (double[] Y, double[] Dx) SerialLoops(IOp op, Tensor x, Tensor dy)
    {
        var windows = op switch { MaxPool m => m.Windows, AvgPool a => a.Windows, LpPool l => l.Windows, _ => throw new ArgumentException(op.Name) };
        var g = windows.For(x.Shape);
        int planes = x.Shape[0] * x.Shape[1];
        var (y, dx) = (new double[planes * g.OutputPlaneSize], new double[x.Count]);
        var (taps, kernelTaps, winners) = (new int[g.MaxWindowSize], new int[g.MaxWindowSize], new int[g.MaxWindowSize]);
        for (int o = 0; o < g.OutputPlaneSize; o++)
        {
            int n = g.Gather(o, taps, kernelTaps);
            for (int p = 0; p < planes; p++)
            {
                var plane = x.Span.Slice(p * g.InputPlaneSize, g.InputPlaneSize);
                int output = p * g.OutputPlaneSize + o, at = p * g.InputPlaneSize;
                switch (op)
                {
                    case MaxPool m:
                        int w = m.Select(plane, taps.AsSpan(0, n), winners, out int recorded, out bool shared);
                        y[output] = plane[recorded];
                        double share = shared ? dy.At(output) / w : dy.At(output);
                        for (int i = 0; i < w; i++) dx[at + winners[i]] += share;
                        break;
                    case AvgPool a:
                        double sum = 0;
                        for (int i = 0; i < n; i++) sum += plane[taps[i]];
                        y[output] = sum / a.Divisor(g, o);
                        for (int i = 0; i < n; i++) dx[at + taps[i]] += dy.At(output) / a.Divisor(g, o);
                        break;
                    case LpPool l:
                        double s = 0, pw = l.NormType;
                        for (int i = 0; i < n; i++) s += Math.Pow(plane[taps[i]], pw);
                        y[output] = Math.Pow((double)l.KernelCells / n * s, 1 / pw);
                        if (s == 0) break;
                        double part = dy.At(output) * y[output] / s;
                        for (int i = 0; i < n; i++) dx[at + taps[i]] += part * Math.Pow(plane[taps[i]], pw - 1);
                        break;
                }
            }
        }
        return (y, dx);
    }
}
