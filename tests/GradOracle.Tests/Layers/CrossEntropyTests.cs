using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>Cross-entropy, worked by hand.</summary>
public class CrossEntropyTests
{
    [TestCase(Reduction.Mean, 0.25)]
    [TestCase(Reduction.Sum, 0.5)]
    public void Cross_entropy_mean_divides_by_the_number_of_samples_and_sum_does_not(Reduction reduction, double gradientScale)
    {
        // Two samples of equal logits over 2 classes: each loss is ln 2; softmax - onehot = ±0.5.
        var op = new CrossEntropy(reduction);
        var inputs = new NamedTensors(("input", T.Of([2, 2], 0, 0, 0, 0)), ("target", T.Of([2], 0, 1)));
        Assert.That(op.Forward(inputs).ToArray(), Is.EqualTo(new[] { reduction == Reduction.Mean ? Math.Log(2) : 2 * Math.Log(2) }).Within(1e-15));
        Assert.That(op.Backward(inputs, Tensor.FromArray(Shape.Of(), [1]))["input"].ToArray(),
            Is.EqualTo(new[] { -gradientScale, gradientScale, gradientScale, -gradientScale }));
    }

    [Test]
    public void Cross_entropy_without_reduction_keeps_one_loss_per_sample()
    {
        var op = new CrossEntropy(Reduction.None);
        var inputs = new NamedTensors(("input", T.Of([2, 2], 0, 0, 0, 0)), ("target", T.Of([2], 0, 1)));
        Assert.That(op.Forward(inputs).Shape, Is.EqualTo(Shape.Of(2)));
        Assert.That(op.Backward(inputs, T.Of([2], 2, 4))["input"].ToArray(), Is.EqualTo(new[] { -1.0, 1, 2, -2 }));
    }

    [Test]
    public void Cross_entropy_refuses_a_class_index_out_of_range()
    {
        var e = Assert.Throws<ParameterException>(() => new CrossEntropy().Forward(new NamedTensors(("input", Tensor.Zeros(Shape.Of(2, 3))), ("target", T.Of([2], 1, 3)))));
        Assert.That(e!.ParamName, Is.EqualTo("target[1]"));
        Assert.That(e.Message, Does.Contain("target[1] = 3").And.Contain("0..2"));
    }
}
