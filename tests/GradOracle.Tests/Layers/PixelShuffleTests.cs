using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>pixel_shuffle and pixel_unshuffle: PyTorch's channel order worked by hand, inverse of each other, and their shape rules.</summary>
public class PixelShuffleTests
{
    [Test]
    public void Shuffle_puts_channel_c_r2_plus_i_r_plus_j_at_row_offset_i_and_column_offset_j()
    {
        // (1, 4, 1, 2), r = 2: channel k of pixel w goes to row k / 2, column 2w + k % 2.
        var x = T.Of([1, 4, 1, 2], 0, 1, 10, 11, 20, 21, 30, 31);
        var y = PixelShuffle.Of(2).Forward(NamedTensors.Input(x));
        Assert.That(y.Shape, Is.EqualTo(Shape.Of(1, 1, 2, 4)));
        Assert.That(y.ToArray(), Is.EqualTo(new double[] { 0, 10, 1, 11, 20, 30, 21, 31 }));
    }

    [Test]
    public void Unshuffle_undoes_shuffle_and_each_backward_is_the_other_s_forward()
    {
        var x = Samples.Distinct(Shape.Of(2, 18, 2, 3), 7);
        var shuffle = PixelShuffle.Of(3);
        var y = shuffle.Forward(NamedTensors.Input(x));
        var back = PixelShuffle.Inverse(3).Forward(NamedTensors.Input(y));
        Assert.That(back.ToArray(), Is.EqualTo(x.ToArray()));
        var dy = Samples.Distinct(y.Shape, 8);
        Assert.That(shuffle.Backward(NamedTensors.Input(x), dy)["input"].ToArray(),
            Is.EqualTo(PixelShuffle.Inverse(3).Forward(NamedTensors.Input(dy)).ToArray()));
    }

    [Test]
    public void Channels_not_divisible_by_the_square_are_refused_naming_the_factor()
    {
        var ex = Assert.Throws<ParameterException>(() => PixelShuffle.Of(2).Forward(NamedTensors.Input(Samples.Distinct(Shape.Of(1, 6, 2, 2), 1))));
        Assert.That(ex!.Message, Does.Contain("upscale_factor").And.Contain("must divide the input's channels, 6"));
        var un = Assert.Throws<ParameterException>(() => PixelShuffle.Inverse(2).Forward(NamedTensors.Input(Samples.Distinct(Shape.Of(1, 1, 3, 4), 1))));
        Assert.That(un!.Message, Does.Contain("downscale_factor").And.Contain("height and width, 3 and 4"));
        Assert.Throws<ParameterException>(() => PixelShuffle.Of(0));
    }
}
