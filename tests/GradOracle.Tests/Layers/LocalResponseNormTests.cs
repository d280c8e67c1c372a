using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>local_response_norm: the zero-padded channel windows worked by hand (odd and even sizes), finite differences, its rules.</summary>
public class LocalResponseNormTests
{
    private static NamedTensors In => NamedTensors.Input(T.Of([1, 3, 1], 1, 2, 3));

    [Test]
    public void An_odd_window_is_centred_and_its_mean_square_divides_by_size_with_missing_channels_as_0()
    {
        // Squares 1, 4, 9; size 3: means 5/3, 14/3, 13/3; alpha 3, k 1: u = 6, 15, 14; beta 1: y = x/u.
        var y = LocalResponseNorm.Create(3, alpha: 3, beta: 1, k: 1).Forward(In);
        Assert.That(y.ToArray(), Is.EqualTo(new[] { 1 / 6.0, 2 / 15.0, 3 / 14.0 }).Within(1e-15));
    }

    [Test]
    public void An_even_window_takes_the_extra_channel_before()
    {
        // size 2: channel c averages c - 1 and c: squares 1, 5, 13 over 2; alpha 2, k 1: u = 2, 6, 14.
        var y = LocalResponseNorm.Create(2, alpha: 2, beta: 1, k: 1).Forward(In);
        Assert.That(y.ToArray(), Is.EqualTo(new[] { 0.5, 1 / 3.0, 3 / 14.0 }).Within(1e-15));
    }

    [TestCase(3)]
    [TestCase(2)]
    public void The_gradient_agrees_with_finite_differences(int size)
    {
        var op = LocalResponseNorm.Create(size, alpha: 0.7, beta: 0.75, k: 1);
        var result = GradientChecker.Check(op, NamedTensors.Input(Samples.Distinct(Shape.Of(2, 4, 3), 1)));
        Assert.That(result.Passed, Is.True, result.ToString());
    }

    [Test]
    public void A_size_below_1_or_an_input_without_spatial_dimensions_is_refused()
    {
        Assert.That(Assert.Throws<ParameterException>(() => LocalResponseNorm.Create(0))!.Message, Does.Contain("size"));
        Assert.That(Assert.Throws<ParameterException>(() => LocalResponseNorm.Create(2).Forward(NamedTensors.Input(T.Of([1, 2], 1, 2))))!.Message,
            Does.Contain("at least one spatial dimension"));
    }
}
