using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>Convolution worked by hand, in the source documents' dA / dW / db walk-through.</summary>
public class ConvolutionTests
{
    // A = [1 2 0; 0 1 3; 2 1 1], W = [1 0; -1 2], b = 0.5, dZ = [-1 -2; 1 0.5].
    private static readonly double[] A = [1, 2, 0, 0, 1, 3, 2, 1, 1];
    private static readonly double[] Wk = [1, 0, -1, 2];
    private static readonly double[] DZ = [-1, -2, 1, 0.5];

    private static NamedTensors Inputs(int batch) => new(
        ("input", T.Of([batch, 1, 3, 3], Enumerable.Range(0, batch).SelectMany(n => A.Select(a => a * (n + 1))).ToArray())),
        ("weight", T.Of([1, 1, 2, 2], Wk)),
        ("bias", T.Of([1], 0.5)));

    [Test]
    public void Forward_correlates_the_kernel_with_each_window_and_adds_the_bias()
    {
        // Z00 = 1·1 + 0·2 - 1·0 + 2·1 + 0.5 = 3.5;  Z01 = 2 - 1 + 6 + 0.5 = 7.5;  Z10 = 0 - 2 + 2 + 0.5 = 0.5;  Z11 = 1 - 1 + 2 + 0.5 = 2.5.
        Assert.That(Convolution.Create(2).Forward(Inputs(1)).ToArray(), Is.EqualTo(new[] { 3.5, 7.5, 0.5, 2.5 }));
    }

    [Test]
    public void Input_gradient_adds_each_dz_times_the_kernel_onto_its_window()
    {
        // dZ00·W onto A[0..1, 0..1], dZ01·W onto A[0..1, 1..2], ... overlapping cells add up:
        // dA = [-1 -2 0; 2 0.5 -4; -1 1.5 1] (the full correlation of dZ with the kernel rotated by 180°).
        var g = Convolution.Create(2).Backward(Inputs(1), T.Of([1, 1, 2, 2], DZ));
        Assert.That(g["input"].ToArray(), Is.EqualTo(new[] { -1, -2, 0, 2, 0.5, -4, -1, 1.5, 1 }));
    }

    [Test]
    public void Weight_gradient_correlates_the_input_with_dz_and_bias_gradient_sums_dz()
    {
        // dW[a, b] = Σ dZ[i, j]·A[i+a, j+b]: dW00 = -1 - 4 + 0 + 0.5 = -4.5, dW01 = -2 + 0 + 1 + 1.5 = 0.5,
        // dW10 = 0 - 2 + 2 + 0.5 = 0.5, dW11 = -1 - 6 + 1 + 0.5 = -5.5; db = -1 - 2 + 1 + 0.5 = -1.5.
        var g = Convolution.Create(2).Backward(Inputs(1), T.Of([1, 1, 2, 2], DZ));
        Assert.That(g["weight"].ToArray(), Is.EqualTo(new[] { -4.5, 0.5, 0.5, -5.5 }));
        Assert.That(g["bias"].ToArray(), Is.EqualTo(new[] { -1.5 }));
    }

    [Test]
    public void Weight_and_bias_gradients_are_summed_over_the_batch_not_averaged()
    {
        // Batch [A, 2A] with the same dZ for both: dW = dW(A) + dW(2A) = 3·dW(A); db = 2·db(A).
        var g = Convolution.Create(2).Backward(Inputs(2), T.Of([2, 1, 2, 2], [.. DZ, .. DZ]));
        Assert.That(g["weight"].ToArray(), Is.EqualTo(new[] { -13.5, 1.5, 1.5, -16.5 }));
        Assert.That(g["bias"].ToArray(), Is.EqualTo(new[] { -3.0 }));
    }

    [Test]
    public void Stride_and_padding_place_the_windows()
    {
        // 1-d: x = [1, 2, 3, 4], w = [1, 10], stride 2, padding 1: windows (pad, 1), (2, 3), (4, pad).
        var op = Convolution.Create(1, [2], ConvPadding.Of(1), bias: false);
        var y = op.Forward(new NamedTensors(("input", T.Of([1, 1, 4], 1, 2, 3, 4)), ("weight", T.Of([1, 1, 2], 1, 10))));
        Assert.That(y.ToArray(), Is.EqualTo(new[] { 10.0, 32, 4 }));
    }

    [Test]
    public void Dilation_spaces_the_kernel_taps()
    {
        // x = [1, 2, 3, 4, 5], w = [1, 10], dilation 3: y0 = 1 + 40, y1 = 2 + 50.
        var op = Convolution.Create(1, dilation: [3], bias: false);
        var y = op.Forward(new NamedTensors(("input", T.Of([1, 1, 5], 1, 2, 3, 4, 5)), ("weight", T.Of([1, 1, 2], 1, 10))));
        Assert.That(y.ToArray(), Is.EqualTo(new[] { 41.0, 52 }));
    }

    [Test]
    public void Groups_convolve_channel_groups_independently()
    {
        // 2 input channels, 2 groups, kernel size 1: out0 = 2·x0, out1 = 3·x1 (no cross-talk).
        var op = Convolution.Create(1, groups: 2, bias: false);
        var y = op.Forward(new NamedTensors(("input", T.Of([1, 2, 2], 1, 2, 10, 20)), ("weight", T.Of([2, 1, 1], 2, 3))));
        Assert.That(y.ToArray(), Is.EqualTo(new[] { 2.0, 4, 30, 60 }));
    }

    [Test]
    public void Same_padding_keeps_the_size_and_puts_the_odd_cell_after()
    {
        // Kernel 2, 'same': total padding 1, none before and one after: y_i = x_i + 10·x_{i+1}.
        var op = Convolution.Create(1, padding: ConvPadding.Same, bias: false);
        var y = op.Forward(new NamedTensors(("input", T.Of([1, 1, 3], 1, 2, 3)), ("weight", T.Of([1, 1, 2], 1, 10))));
        Assert.That(y.ToArray(), Is.EqualTo(new[] { 21.0, 32, 3 }));
    }

    [Test]
    public void Channels_not_divisible_by_groups_are_refused_naming_groups()
    {
        var op = Convolution.Create(2, groups: 2);
        var e = Assert.Throws<ParameterException>(() => op.Forward(new NamedTensors(
            ("input", Tensor.Zeros(Shape.Of(1, 3, 4, 4))), ("weight", Tensor.Zeros(Shape.Of(2, 1, 3, 3))), ("bias", Tensor.Zeros(Shape.Of(2))))));
        Assert.That(e!.ParamName, Is.EqualTo("groups"));
        Assert.That(e.Message, Does.Contain("must divide the input channels C_in = 3"));
    }

    [Test]
    public void A_kernel_larger_than_the_padded_input_is_refused()
    {
        var op = Convolution.Create(2, padding: ConvPadding.Of(1), bias: false);
        var e = Assert.Throws<ParameterException>(() => op.Forward(new NamedTensors(
            ("input", Tensor.Zeros(Shape.Of(1, 1, 3, 3))), ("weight", Tensor.Zeros(Shape.Of(1, 1, 6, 2))))));
        Assert.That(e!.ParamName, Is.EqualTo("weight.shape"));
        Assert.That(e.Message, Does.Contain("spans 6 positions along spatial dimension 0, more than the padded input (5)"));
    }

    [Test]
    public void A_weight_whose_channels_do_not_match_is_refused()
    {
        var op = Convolution.Create(2, bias: false);
        var e = Assert.Throws<ParameterException>(() => op.Forward(new NamedTensors(
            ("input", Tensor.Zeros(Shape.Of(1, 4, 5, 5))), ("weight", Tensor.Zeros(Shape.Of(2, 3, 3, 3))))));
        Assert.That(e!.ParamName, Is.EqualTo("weight.shape"));
        Assert.That(e.Message, Does.Contain("dimension 1 must be C_in/groups = 4/1 = 4"));
    }

    [Test]
    public void A_bias_of_the_wrong_length_is_refused()
    {
        var e = Assert.Throws<ParameterException>(() => Convolution.Create(1).Forward(new NamedTensors(
            ("input", Tensor.Zeros(Shape.Of(1, 1, 4))), ("weight", Tensor.Zeros(Shape.Of(2, 1, 2))), ("bias", Tensor.Zeros(Shape.Of(3))))));
        Assert.That(e!.ParamName, Is.EqualTo("bias.shape"));
    }

    [Test]
    public void Same_padding_with_a_stride_is_refused()
    {
        var e = Assert.Throws<ParameterException>(() => Convolution.Create(2, [2], ConvPadding.Same));
        Assert.That(e!.ParamName, Is.EqualTo("padding"));
        Assert.That(e.Message, Does.Contain("needs stride 1"));
    }
}
