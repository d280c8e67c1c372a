using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>mse_loss: values worked by hand in each reduction, gradients against finite differences, and its shape rule.</summary>
public class MseLossTests
{
    private static readonly NamedTensors In = new(("input", T.Of([2, 2], 1, 2, 3, 4)), ("target", T.Of([2, 2], 0, 4, 3, 1)));

    [TestCase(Reduction.Mean, 3.5)] // (1 + 4 + 0 + 9) / 4
    [TestCase(Reduction.Sum, 14.0)]
    public void A_reduced_loss_is_the_mean_or_sum_of_squared_differences(Reduction reduction, double expected) =>
        Assert.That(new MseLoss(reduction).Forward(In).ToArray(), Is.EqualTo(new[] { expected }));

    [Test]
    public void The_mean_s_gradient_is_two_differences_over_the_element_count_and_the_target_s_its_negative()
    {
        var g = new MseLoss().Backward(In, T.Of([], 1));
        Assert.That(g["input"].ToArray(), Is.EqualTo(new[] { 0.5, -1, 0, 1.5 })); // 2·(1, -2, 0, 3)/4
        Assert.That(g["target"].ToArray(), Is.EqualTo(new[] { -0.5, 1, -0.0, -1.5 }));
    }

    [TestCase(Reduction.Mean)]
    [TestCase(Reduction.Sum)]
    [TestCase(Reduction.None)]
    public void Both_gradients_agree_with_finite_differences(Reduction reduction)
    {
        var inputs = new NamedTensors(("input", Samples.Distinct(Shape.Of(2, 3, 4), 1)), ("target", Samples.Distinct(Shape.Of(2, 3, 4), 2)));
        var result = GradientChecker.Check(new MseLoss(reduction), inputs);
        Assert.That(result.Passed, Is.True, result.ToString());
    }

    [Test]
    public void A_target_of_another_shape_is_refused_naming_it()
    {
        var ex = Assert.Throws<ParameterException>(() => new MseLoss().Forward(new(("input", T.Of([2, 2], 1, 2, 3, 4)), ("target", T.Of([2], 1, 2)))));
        Assert.That(ex!.Message, Does.Contain("target.shape").And.Contain("must equal input's shape"));
    }
}
