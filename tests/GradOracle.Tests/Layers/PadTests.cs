using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>pad: each mode worked by hand on [1, 2, 3], the backward's sums at the borders, and PyTorch's rules.</summary>
public class PadTests
{
    private static NamedTensors Row => NamedTensors.Input(T.Of([1, 3], 1, 2, 3));

    [TestCase("constant", new double[] { 9, 9, 1, 2, 3, 9 })]
    [TestCase("reflect", new double[] { 3, 2, 1, 2, 3, 2 })]
    [TestCase("replicate", new double[] { 1, 1, 1, 2, 3, 3 })]
    [TestCase("circular", new double[] { 2, 3, 1, 2, 3, 1 })]
    public void Each_mode_fills_the_border_by_its_rule(string mode, double[] expected) =>
        Assert.That(Pad.Create([2, 1], mode, mode == "constant" ? 9 : 0).Forward(Row).ToArray(), Is.EqualTo(expected));

    [Test]
    public void The_backward_sums_the_gradient_of_every_output_that_reads_an_input()
    {
        // reflect [2, 1] reads x2, x1, x0, x1, x2, x1: dx0 = dy2, dx1 = dy1 + dy3 + dy5, dx2 = dy0 + dy4.
        var dx = Pad.Create([2, 1], "reflect").Backward(Row, T.Of([1, 6], 1, 10, 100, 1000, 10000, 100000))["input"];
        Assert.That(dx.ToArray(), Is.EqualTo(new double[] { 100, 101010, 10001 }));
    }

    [Test]
    public void A_negative_constant_pad_crops_and_the_pad_list_starts_from_the_last_dimension()
    {
        var x = NamedTensors.Input(T.Of([2, 3], 1, 2, 3, 4, 5, 6));
        var y = Pad.Create([-1, 0, 1, 0]).Forward(x); // last dimension: crop one in front; first: one row of zeros in front
        Assert.That(y.Shape, Is.EqualTo(Shape.Of(3, 2)));
        Assert.That(y.ToArray(), Is.EqualTo(new double[] { 0, 0, 2, 3, 5, 6 }));
    }

    [TestCase("reflect")]
    [TestCase("circular")]
    public void The_gradient_agrees_with_finite_differences(string mode)
    {
        var result = GradientChecker.Check(Pad.Create([1, 2, 2, 1], mode), NamedTensors.Input(Samples.Distinct(Shape.Of(1, 2, 3, 3), 1)));
        Assert.That(result.Passed, Is.True, result.ToString());
    }

    [Test]
    public void Pads_beyond_a_mode_s_limit_are_refused_naming_the_rule()
    {
        Assert.That(Assert.Throws<ParameterException>(() => Pad.Create([3, 0], "reflect").Forward(Row))!.Message, Does.Contain("each side at most 2"));
        Assert.That(Assert.Throws<ParameterException>(() => Pad.Create([4, 0], "circular").Forward(Row))!.Message, Does.Contain("at most the dimension it pads (3)"));
        Assert.That(Assert.Throws<ParameterException>(() => Pad.Create([1, 0], "reflect", 2))!.Message, Does.Contain("value").And.Contain("takes none"));
        Assert.That(Assert.Throws<ParameterException>(() => Pad.Create([1]))!.Message, Does.Contain("even"));
        Assert.That(Assert.Throws<ParameterException>(() => Pad.Create([-1, 0], "replicate"))!.Message, Does.Contain("non-negative"));
        Assert.That(Assert.Throws<ParameterException>(() => Pad.Create([1, 1], "reflect").Forward(NamedTensors.Input(T.Of([3], 1, 2, 3))))!.Message, Does.Contain("rank 2 or 3"));
    }
}
