using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>binary_cross_entropy: values worked by hand, both gradients against finite differences, and its domain.</summary>
public class BinaryCrossEntropyTests
{
    private static NamedTensors In => new(("input", T.Of([2], 0.5, 0.8)), ("target", T.Of([2], 1, 0)));

    [Test]
    public void The_summed_loss_is_minus_the_log_likelihood_and_its_gradients_are_worked_by_hand()
    {
        var op = new BinaryCrossEntropy(Reduction.Sum);
        Assert.That(op.Forward(In).ToArray()[0], Is.EqualTo(Math.Log(10)).Within(1e-15)); // -log 0.5 - log 0.2
        var g = op.Backward(In, T.Of([], 1));
        Assert.That(g["input"].ToArray(), Is.EqualTo(new[] { -2.0, 5.0 }).Within(1e-14)); // (p - t)/(p(1 - p)): -0.5/0.25, 0.8/0.16
        Assert.That(g["target"].ToArray(), Is.EqualTo(new[] { 0, -Math.Log(4) }).Within(1e-15)); // log(1 - p) - log p
    }

    [Test]
    public void A_weight_broadcast_from_the_right_scales_each_element_s_loss()
    {
        var op = new BinaryCrossEntropy(Reduction.None);
        var y = op.Forward(In.With("weight", T.Of([1], 3)));
        Assert.That(y.ToArray(), Is.EqualTo(new[] { 3 * Math.Log(2), -3 * Math.Log(0.2) }).Within(1e-15));
    }

    [TestCase(Reduction.Mean)]
    [TestCase(Reduction.None)]
    public void Both_gradients_agree_with_finite_differences(Reduction reduction)
    {
        var shape = Shape.Of(2, 3);
        var p = Tensor.Create(shape, i => 0.1 + 0.13 * i);
        var inputs = new NamedTensors(("input", p), ("target", Samples.Uniforms(shape, 2)), ("weight", Samples.Positive(Shape.Of(3), 3)));
        var result = GradientChecker.Check(new BinaryCrossEntropy(reduction), inputs);
        Assert.That(result.Passed, Is.True, result.ToString());
    }

    [Test]
    public void An_input_or_target_outside_0_and_1_is_refused_naming_the_element()
    {
        var ex = Assert.Throws<ParameterException>(() => new BinaryCrossEntropy().Forward(new(("input", T.Of([2], 0.5, 1.5)), ("target", T.Of([2], 1, 0)))));
        Assert.That(ex!.Message, Does.Contain("input[1]").And.Contain("must be a probability, between 0 and 1"));
        var target = Assert.Throws<ParameterException>(() => new BinaryCrossEntropy().Forward(new(("input", T.Of([2], 0.5, 0.5)), ("target", T.Of([2], -0.5, 0)))));
        Assert.That(target!.Message, Does.Contain("target[0]"));
    }
}
