using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>binary_cross_entropy_with_logits: pos_weight worked by hand at x = 0, finite differences, and stability at large logits.</summary>
public class BinaryCrossEntropyWithLogitsTests
{
    [Test]
    public void Pos_weight_scales_the_positive_term_only()
    {
        // x = 0: σ = 1/2 and softplus(0) = ln 2. t = 1 with pw = 3: l = 3·ln 2, dx = -(1 + 2)·1/2, dt = 2·ln 2. t = 0: l = ln 2, dx = 1/2, dt = 2·ln 2.
        var op = new BinaryCrossEntropyWithLogits(Reduction.None);
        var inputs = new NamedTensors(("input", T.Of([2], 0, 0)), ("target", T.Of([2], 1, 0)), ("pos_weight", T.Of([2], 3, 3)));
        Assert.That(op.Forward(inputs).ToArray(), Is.EqualTo(new[] { 3 * Math.Log(2), Math.Log(2) }).Within(1e-15));
        var g = op.Backward(inputs, T.Of([2], 1, 1));
        Assert.That(g["input"].ToArray(), Is.EqualTo(new[] { -1.5, 0.5 }).Within(1e-15));
        Assert.That(g["target"].ToArray(), Is.EqualTo(new[] { 2 * Math.Log(2), 2 * Math.Log(2) }).Within(1e-15));
    }

    [Test]
    public void Large_logits_neither_overflow_nor_lose_the_loss()
    {
        var op = new BinaryCrossEntropyWithLogits(Reduction.None);
        var inputs = new NamedTensors(("input", T.Of([2], -800, 800)), ("target", T.Of([2], 1, 0)));
        Assert.That(op.Forward(inputs).ToArray(), Is.EqualTo(new double[] { 800, 800 }));
        Assert.That(op.Backward(inputs, T.Of([2], 1, 1))["input"].ToArray(), Is.EqualTo(new double[] { -1, 1 }));
    }

    [TestCase(Reduction.Sum)]
    [TestCase(Reduction.None)]
    public void Both_gradients_agree_with_finite_differences_with_weight_and_pos_weight(Reduction reduction)
    {
        var shape = Shape.Of(2, 2, 3);
        var inputs = new NamedTensors(("input", Samples.Scaled(shape, 1, 3)), ("target", Samples.Uniforms(shape, 2)),
            ("weight", Samples.Positive(Shape.Of(2, 1, 3), 3)), ("pos_weight", Samples.Positive(Shape.Of(3), 4)));
        var result = GradientChecker.Check(new BinaryCrossEntropyWithLogits(reduction), inputs);
        Assert.That(result.Passed, Is.True, result.ToString());
    }

    [Test]
    public void A_pos_weight_that_does_not_broadcast_is_refused_naming_it()
    {
        var inputs = new NamedTensors(("input", T.Of([2, 3], 0, 0, 0, 0, 0, 0)), ("target", T.Of([2, 3], 0, 0, 0, 0, 0, 0)), ("pos_weight", T.Of([2], 1, 1)));
        var ex = Assert.Throws<ParameterException>(() => new BinaryCrossEntropyWithLogits().Forward(inputs));
        Assert.That(ex!.Message, Does.Contain("pos_weight.shape").And.Contain("must broadcast to the input's (2, 3)"));
    }
}
