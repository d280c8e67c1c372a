using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>
/// Expected values obtained independently from libtorch: torch 1.13.0a0 (Debian's python3-torch),
/// torch.nn.functional in float64, out.backward(g). They pin the rules where hand-working is error-prone,
/// independently of the TorchSharp bridge that checks them continuously.
/// </summary>
public class LibtorchValueTests
{
    private static Tensor Fill(int[] dims, double v) => Tensor.Create(Shape.Of(dims), _ => v);

    [Test]
    public void Avg_pool_ceil_mode_with_padding_counted_matches_libtorch()
    {
        // avg_pool2d(ones(1,1,6,6), 3, stride=2, padding=1, ceil_mode=True, count_include_pad=True)
        var op = AvgPool.Create(2, [3], [2], [1], ceilMode: true);
        var x = Fill([1, 1, 6, 6], 1);
        double[] output =
        [
            0.4444444444444444, 0.6666666666666666, 0.6666666666666666, 0.3333333333333333,
            0.6666666666666666, 1.0, 1.0, 0.5,
            0.6666666666666666, 1.0, 1.0, 0.5,
            0.3333333333333333, 0.5, 0.5, 0.25,
        ];
        double[] grad =
        [
            0.1111111111111111, 0.2222222222222222, 0.1111111111111111, 0.2222222222222222, 0.1111111111111111, 0.2777777777777778,
            0.2222222222222222, 0.4444444444444444, 0.2222222222222222, 0.4444444444444444, 0.2222222222222222, 0.5555555555555556,
            0.1111111111111111, 0.2222222222222222, 0.1111111111111111, 0.2222222222222222, 0.1111111111111111, 0.2777777777777778,
            0.2222222222222222, 0.4444444444444444, 0.2222222222222222, 0.4444444444444444, 0.2222222222222222, 0.5555555555555556,
            0.1111111111111111, 0.2222222222222222, 0.1111111111111111, 0.2222222222222222, 0.1111111111111111, 0.2777777777777778,
            0.2777777777777778, 0.5555555555555555, 0.2777777777777778, 0.5555555555555555, 0.2777777777777778, 0.6944444444444444,
        ];
        Assert.That(T.Out(op, x), Is.EqualTo(output).Within(1e-15));
        Assert.That(T.Grad(op, x, Fill([1, 1, 4, 4], 1)), Is.EqualTo(grad).Within(1e-15));
    }

    [Test]
    public void Avg_pool_ceil_mode_without_padding_counted_matches_libtorch()
    {
        var op = AvgPool.Create(2, [3], [2], [1], ceilMode: true, countIncludePad: false);
        var x = Fill([1, 1, 6, 6], 1);
        double[] grad =
        [
            0.25, 0.41666666666666663, 0.16666666666666666, 0.3333333333333333, 0.16666666666666666, 0.6666666666666666,
            0.41666666666666663, 0.6944444444444444, 0.2777777777777778, 0.5555555555555556, 0.2777777777777778, 1.111111111111111,
            0.16666666666666666, 0.2777777777777778, 0.1111111111111111, 0.2222222222222222, 0.1111111111111111, 0.4444444444444444,
            0.3333333333333333, 0.5555555555555556, 0.2222222222222222, 0.4444444444444444, 0.2222222222222222, 0.8888888888888888,
            0.16666666666666666, 0.2777777777777778, 0.1111111111111111, 0.2222222222222222, 0.1111111111111111, 0.4444444444444444,
            0.6666666666666666, 1.1111111111111112, 0.4444444444444444, 0.8888888888888888, 0.4444444444444444, 1.7777777777777777,
        ];
        Assert.That(T.Out(op, x), Is.EqualTo(Enumerable.Repeat(1.0, 16)));
        Assert.That(T.Grad(op, x, Fill([1, 1, 4, 4], 1)), Is.EqualTo(grad).Within(2e-16));
    }

    [Test]
    public void Divisor_override_matches_libtorch()
    {
        var op = AvgPool.Create(2, [3], [1], [1], divisorOverride: 5);
        var x = Fill([1, 1, 3, 3], 1);
        Assert.That(T.Out(op, x), Is.EqualTo(new[] { 0.8, 1.2, 0.8, 1.2, 1.8, 1.2, 0.8, 1.2, 0.8 }).Within(3e-16));
        Assert.That(T.Grad(op, x, Fill([1, 1, 3, 3], 1)), Is.EqualTo(new[] { 0.8, 1.2, 0.8, 1.2, 1.7999999999999998, 1.2, 0.8, 1.2, 0.8 }).Within(3e-16));
    }

    [Test]
    public void Max_pool_ceil_mode_drops_the_window_starting_in_the_padding_as_libtorch_does()
    {
        // max_pool2d(arange(25).reshape(1,1,5,5), 2, stride=2, padding=1, ceil_mode=True): 3x3, not 4x4.
        var op = MaxPool.Create(2, [2], [2], [1], ceilMode: true);
        var x = Tensor.Create(Shape.Of(1, 1, 5, 5), i => i);
        var r = op.ForwardWithIndices(x);
        Assert.That(r.Output.Shape, Is.EqualTo(Shape.Of(1, 1, 3, 3)));
        Assert.That(r.Indices.Data, Is.EqualTo(new long[] { 0, 2, 4, 10, 12, 14, 20, 22, 24 }));
        Assert.That(T.Grad(op, x, Fill([1, 1, 3, 3], 1)),
            Is.EqualTo(new double[] { 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1 }));
    }

    [TestCase(6, 4)]
    [TestCase(7, 4)]
    [TestCase(8, 5)]
    public void Ceil_mode_output_sizes_match_libtorch(int n, int expected)
    {
        var op = MaxPool.Create(2, [3], [2], [1], ceilMode: true);
        Assert.That(op.ForwardWithIndices(Fill([1, 1, n, n], 0)).Output.Shape, Is.EqualTo(Shape.Of(1, 1, expected, expected)));
    }

    [Test]
    public void Nan_routing_matches_libtorch_the_last_nan_wins()
    {
        // [[1, nan], [nan, 2]]: libtorch records index 2, the last NaN in scan order.
        var op = MaxPool.Create(2, [2]);
        var x = T.Of([1, 1, 2, 2], 1, double.NaN, double.NaN, 2);
        Assert.That(op.ForwardWithIndices(x).Indices.Data, Is.EqualTo(new long[] { 2 }));
        Assert.That(T.Grad(op, x, T.Of([1, 1, 1, 1], 1.5)), Is.EqualTo(new[] { 0.0, 0, 1.5, 0 }));
    }

    [Test]
    public void Overlapping_ties_route_per_window_as_libtorch_does()
    {
        var op = MaxPool.Create(2, [2], [1]);
        var x = Fill([1, 1, 3, 3], 1);
        Assert.That(op.ForwardWithIndices(x).Indices.Data, Is.EqualTo(new long[] { 0, 1, 3, 4 }));
        Assert.That(T.Grad(op, x, Fill([1, 1, 2, 2], 1)), Is.EqualTo(new double[] { 1, 1, 0, 1, 1, 0, 0, 0, 0 }));
    }

    [Test]
    public void Adaptive_average_gradient_matches_libtorch()
    {
        var op = AvgPool.Adaptive(1, [3]);
        var x = T.Of([1, 1, 7], 1, 2, 3, 4, 5, 6, 7);
        Assert.That(T.Grad(op, x, T.Of([1, 1, 3], 1, 2, 3)),
            Is.EqualTo(new[] { 0.3333333333333333, 0.3333333333333333, 1.0, 0.6666666666666666, 1.6666666666666665, 1.0, 1.0 }).Within(3e-16));
    }
}
