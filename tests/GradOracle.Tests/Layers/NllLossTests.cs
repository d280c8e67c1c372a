using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>nll_loss: the weighted mean and ignore_index worked by hand, finite differences, and its target rule.</summary>
public class NllLossTests
{
    private static NamedTensors In(params double[] target) =>
        new(("input", T.Of([2, 3], 1, 2, 3, 4, 5, 6)), ("target", T.Of([2], target)), ("weight", T.Of([3], 0.5, 1, 2)));

    [Test]
    public void The_mean_divides_by_the_sum_of_the_targets_weights()
    {
        var op = new NllLoss();
        Assert.That(op.Forward(In(2, 0)).ToArray()[0], Is.EqualTo(-3.2).Within(1e-15)); // -(2·3 + 0.5·4)/(2 + 0.5)
        Assert.That(op.Backward(In(2, 0), T.Of([], 1))["input"].ToArray(), Is.EqualTo(new[] { 0, 0, -0.8, -0.2, 0, 0 }).Within(1e-15));
    }

    [Test]
    public void An_ignored_target_adds_nothing_and_counts_in_no_mean()
    {
        var op = new NllLoss();
        Assert.That(op.Forward(In(2, -100)).ToArray()[0], Is.EqualTo(-3)); // -(2·3)/2
        Assert.That(op.Backward(In(2, -100), T.Of([], 1))["input"].ToArray(), Is.EqualTo(new double[] { 0, 0, -1, 0, 0, 0 }));
        Assert.That(double.IsNaN(op.Forward(In(-100, -100)).ToArray()[0]), "every target ignored: 0/0, as PyTorch gives");
        Assert.That(new NllLoss(ignoreIndex: 0).Forward(In(2, 0)).ToArray()[0], Is.EqualTo(-3));
    }

    [Test]
    public void Its_gradient_agrees_with_finite_differences()
    {
        var inputs = new NamedTensors(("input", Samples.Distinct(Shape.Of(2, 3, 2), 1)), ("target", T.Of([2, 2], 2, -100, 0, 1)), ("weight", Samples.Positive(Shape.Of(3), 2)));
        var result = GradientChecker.Check(new NllLoss(), inputs);
        Assert.That(result.Passed, Is.True, result.ToString());
    }

    [Test]
    public void A_target_outside_the_classes_is_refused_naming_it_and_ignore_index()
    {
        var ex = Assert.Throws<ParameterException>(() => new NllLoss().Forward(In(3, 0)));
        Assert.That(ex!.Message, Does.Contain("target[0]").And.Contain("0..2").And.Contain("ignore_index (-100)"));
    }
}
