using GradOracle.Geometry;
using GradOracle.Layers;

namespace GradOracle.Tests.Geometry;

public class WindowGeometryTests
{
    // Sizes worked by hand from out = floor((n + 2p - d(k-1) - 1 + (ceil ? s-1 : 0)) / s) + 1.
    [TestCase(5, 2, 2, 0, 1, false, 2)]
    [TestCase(7, 3, 2, 1, 1, false, 4)]
    [TestCase(9, 3, 2, 2, 2, false, 5)]
    [TestCase(4, 3, 2, 0, 1, false, 1)]
    [TestCase(4, 3, 2, 0, 1, true, 2)]   // ceil adds a window that starts inside the input
    [TestCase(8, 2, 3, 0, 1, false, 3)]  // stride larger than the kernel
    public void Output_size_follows_pytorchs_formula(int n, int k, int s, int p, int d, bool ceil, int expected)
    {
        var axis = AxisWindows.Strided(0, n, k, s, p, p, d, ceil);
        Assert.That(axis.OutputSize, Is.EqualTo(expected));
    }

    [Test]
    public void Ceil_mode_drops_a_last_window_that_would_start_in_the_right_padding()
    {
        // n=5, k=2, s=2, p=1: ceil gives floor((5+2-2+1)/2)+1 = 4, but window 3 would start at 3*2-1 = 5,
        // past the input: PyTorch drops it, leaving 3 windows starting at -1, 1, 3.
        var axis = AxisWindows.Strided(0, 5, 2, 2, 1, 1, 1, ceilMode: true);
        Assert.That(axis.OutputSize, Is.EqualTo(3));
        Assert.That(Enumerable.Range(0, 3).Select(axis.Start), Is.EqualTo(new[] { -1, 1, 3 }));
    }

    [Test]
    public void Adaptive_windows_are_floor_to_ceil_and_may_overlap()
    {
        // 7 -> 3: [0, 3), [2, 5), [4, 7)  (floor(o*7/3), ceil((o+1)*7/3)).
        var axis = AxisWindows.Adaptive(0, 7, 3);
        Assert.That(Enumerable.Range(0, 3).Select(o => (axis.Start(o), axis.TapCount(o))),
            Is.EqualTo(new[] { (0, 3), (2, 3), (4, 3) }));
    }

    [Test]
    public void Gather_lists_in_bounds_taps_in_row_major_order_with_their_kernel_positions()
    {
        // 3x3 input, kernel 2x2, padding 1: window (0, 0) covers rows -1..0 and columns -1..0, so only
        // input (0, 0) is in bounds, and it sits at kernel position (1, 1) = 3.
        var g = WindowGeometry.Strided([3, 3], [2, 2], [1, 1], [1, 1], [1, 1], false);
        Span<int> input = stackalloc int[4], taps = stackalloc int[4];
        int n = g.Gather(0, input, taps);
        Assert.That(input[..n].ToArray(), Is.EqualTo(new[] { 0 }));
        Assert.That(taps[..n].ToArray(), Is.EqualTo(new[] { 3 }));
        // Window (1, 1) covers rows 0..1, columns 0..1: inputs 0, 1, 3, 4 at kernel positions 0..3.
        n = g.Gather(g.OutputSize[1] + 1, input, taps);
        Assert.That(input[..n].ToArray(), Is.EqualTo(new[] { 0, 1, 3, 4 }));
        Assert.That(taps[..n].ToArray(), Is.EqualTo(new[] { 0, 1, 2, 3 }));
    }

    [Test]
    public void Dilation_spaces_the_taps()
    {
        var g = WindowGeometry.Strided([7], [3], [1], [0], [2], false);
        Span<int> input = stackalloc int[3], taps = stackalloc int[3];
        int n = g.Gather(1, input, taps);
        Assert.That(input[..n].ToArray(), Is.EqualTo(new[] { 1, 3, 5 }));
    }

    [Test]
    public void Padding_over_half_the_kernel_is_refused_naming_the_parameter_even_with_dilation()
    {
        var e = Assert.Throws<ParameterException>(() => MaxPool.Create(2, [3], padding: [2]));
        Assert.That(e!.ParamName, Is.EqualTo("padding[0]"));
        Assert.That(e.Message, Does.Contain("padding[0] = 2").And.Contain("kernel_size/2 = 3/2 = 1"));
        // Dilation does not widen the limit: libtorch 2.10 refuses k=3, p=2, d=2 in every rank, with or without grad.
        Assert.That(() => MaxPool.Create(2, [3], padding: [2], dilation: [2]), Throws.TypeOf<ParameterException>());
        Assert.That(() => MaxPool.Create(1, [4], padding: [2], dilation: [3]), Throws.Nothing);
    }

    [Test]
    public void A_kernel_larger_than_the_padded_input_is_refused()
    {
        var op = MaxPool.Create(2, [5]);
        var e = Assert.Throws<ParameterException>(() => op.Forward(NamedTensors.Input(GradOracle.Tensors.Tensor.Zeros(GradOracle.Tensors.Shape.Of(1, 1, 4, 4)))));
        Assert.That(e!.ParamName, Is.EqualTo("kernel_size[0]"));
        Assert.That(e.Message, Does.Contain("the output would be empty"));
    }

    [TestCase("stride")]
    [TestCase("kernel_size")]
    [TestCase("dilation")]
    public void Non_positive_sizes_are_refused_naming_the_parameter(string which)
    {
        var e = Assert.Throws<ParameterException>(() => MaxPool.Create(2,
            which == "kernel_size" ? [0] : [2], which == "stride" ? [0] : null, null, which == "dilation" ? [0] : null));
        Assert.That(e!.ParamName, Is.EqualTo(which + "[0]"));
        Assert.That(e.Message, Does.Contain("must be at least 1"));
    }

    [Test]
    public void A_parameter_with_the_wrong_number_of_values_is_refused()
    {
        var e = Assert.Throws<ParameterException>(() => MaxPool.Create(2, [2, 2, 2]));
        Assert.That(e!.Message, Does.Contain("kernel_size").And.Contain("needs 1 or 2 values"));
    }
}
