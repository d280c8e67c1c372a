using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>Cross-entropy: reductions, class weights, ignore_index, label_smoothing and probability targets, worked by hand.</summary>
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

    [Test]
    public void Label_smoothing_mixes_the_one_hot_target_with_the_uniform()
    {
        // x = (0, ln 3): p = (1/4, 3/4). ε = 0.5 over C = 2: q = (0.75, 0.25); dx = p·Σq - q = (-0.5, 0.5).
        var op = new CrossEntropy(labelSmoothing: 0.5);
        var inputs = new NamedTensors(("input", T.Of([1, 2], 0, Math.Log(3))), ("target", T.Of([1], 0)));
        Assert.That(op.Forward(inputs).At(0), Is.EqualTo(-(0.75 * Math.Log(0.25) + 0.25 * Math.Log(0.75))).Within(1e-15));
        Assert.That(op.Backward(inputs, T.Of([], 1))["input"].ToArray(), Is.EqualTo(new[] { -0.5, 0.5 }).Within(1e-15));
    }

    [Test]
    public void A_weighted_mean_divides_by_the_kept_targets_weights_and_an_ignored_target_adds_nothing()
    {
        // Equal logits: each loss is w[t]·ln 2. Kept weights 1 + 3 = 4, so the mean is (ln 2 + 3 ln 2)/4 = ln 2.
        var inputs = new NamedTensors(("input", Tensor.Zeros(Shape.Of(3, 2))), ("target", T.Of([3], 0, -100, 1)), ("weight", T.Of([2], 1, 3)));
        var op = new CrossEntropy();
        Assert.That(op.Forward(inputs).At(0), Is.EqualTo(Math.Log(2)).Within(1e-15));
        Assert.That(op.Backward(inputs, T.Of([], 1))["input"].ToArray(), Is.EqualTo(new[] { -0.125, 0.125, 0, 0, 0.375, -0.375 }));
    }

    [Test]
    public void A_target_shaped_like_the_input_holds_probabilities_and_the_mean_counts_samples_not_classes()
    {
        // Equal logits: each loss is ln 2 whatever the probabilities; the mean over 2 samples is ln 2, dx = (p - q)/2.
        var inputs = new NamedTensors(("input", Tensor.Zeros(Shape.Of(2, 2))), ("target", T.Of([2, 2], 0.5, 0.5, 1, 0)));
        var op = new CrossEntropy();
        Assert.That(op.Forward(inputs).At(0), Is.EqualTo(Math.Log(2)).Within(1e-15));
        Assert.That(op.Backward(inputs, T.Of([], 1))["input"].ToArray(), Is.EqualTo(new[] { 0, 0, -0.25, 0.25 }));
        Assert.That(CrossEntropy.Descriptor.Inputs.Single(i => i.Name == "target").IsIntegralIn(inputs), Is.False, "probabilities travel as floats");
        Assert.That(CrossEntropy.Descriptor.Inputs.Single(i => i.Name == "target").IsIntegralIn(inputs.With("target", T.Of([2], 0, 1))), Is.True);
    }

    [Test]
    public void Every_option_together_agrees_with_finite_differences()
    {
        var x = Samples.Distinct(Shape.Of(2, 3, 2), 7);
        var w = Samples.Positive(Shape.Of(3), 8);
        var indices = new NamedTensors(("input", x), ("target", T.Of([2, 2], 2, 0, 1, 1)), ("weight", w));
        var probabilities = new NamedTensors(("input", x), ("target", T.Of([2, 3, 2], 0.2, 0.5, 0.3, 0.25, 0.5, 0.25, 1, 0, 0, 0.5, 0, 0.5)), ("weight", w));
        foreach (var reduction in new[] { Reduction.Mean, Reduction.Sum, Reduction.None })
            foreach (var inputs in new[] { indices, probabilities })
            {
                var result = GradientChecker.Check(new CrossEntropy(reduction, ignoreIndex: -100, labelSmoothing: 0.2), inputs);
                Assert.That(result.Passed, Is.True, result.ToString());
            }
    }

    [Test]
    public void The_smoothing_and_mean_bugs_predict_what_their_rules_give()
    {
        var x = Tensor.Zeros(Shape.Of(2, 3));
        var dy = T.Of([], 1);
        // Smoothing over the C - 1 others: q = (1 - ε, ε/2, ε/2) instead of (1 - ε + ε/3, ε/3, ε/3); both losses are ln 3 at equal logits, the gradients differ.
        var smooth = new CrossEntropy(Reduction.Sum, labelSmoothing: 0.3);
        var indices = new NamedTensors(("input", x), ("target", T.Of([2], 0, 2)));
        var others = CrossEntropy.Descriptor.Bugs(smooth, indices, dy).Single(b => b.Message.Contains("C - 1 other")).PredictWhole!()!;
        Assert.That(others.Grads["input"].ToArray()[..3], Is.EqualTo(new[] { 1.0 / 3 - 0.7, 1.0 / 3 - 0.15, 1.0 / 3 - 0.15 }).Within(1e-15));
        // Probabilities' mean over every element divides by N·C = 6 instead of N = 2: a third of the loss.
        var probabilities = new NamedTensors(("input", x), ("target", T.Of([2, 3], 1, 0, 0, 0, 0, 1)));
        var elements = CrossEntropy.Descriptor.Bugs(new CrossEntropy(), probabilities, dy).Single(b => b.Message.Contains("every element")).PredictWhole!()!;
        Assert.That(elements.Output.At(0), Is.EqualTo(Math.Log(3) / 3).Within(1e-15));
    }

    [Test]
    public void Options_pytorch_refuses_are_refused_naming_them()
    {
        var probabilities = new NamedTensors(("input", Tensor.Zeros(Shape.Of(1, 2))), ("target", T.Of([1, 2], 1, 0)));
        var ignore = Assert.Throws<ParameterException>(() => new CrossEntropy(ignoreIndex: 0).Forward(probabilities));
        Assert.That(ignore!.ParamName, Is.EqualTo("ignore_index"));
        Assert.That(ignore.Message, Does.Contain("probability targets"));
        var smoothing = Assert.Throws<ParameterException>(() => new CrossEntropy(labelSmoothing: 1.5));
        Assert.That(smoothing!.Message, Does.Contain("label_smoothing = 1.5").And.Contain("[0, 1]"));
        var shape = Assert.Throws<ParameterException>(() => new CrossEntropy().Forward(new NamedTensors(("input", Tensor.Zeros(Shape.Of(2, 3))), ("target", T.Of([3], 0, 1, 2)))));
        Assert.That(shape!.ParamName, Is.EqualTo("target.shape"));
        var weight = Assert.Throws<ParameterException>(() => new CrossEntropy().Forward(probabilities.With("weight", T.Of([3], 1, 1, 1))));
        Assert.That(weight!.ParamName, Is.EqualTo("weight.shape"));
    }

    [Test]
    public void Every_target_ignored_gives_a_nan_mean_and_no_gradient_as_libtorch_does()
    {
        // The mean is 0/0; it does not depend on the input, and libtorch's gradient is 0 (seen in a parity sweep).
        var inputs = new NamedTensors(("input", Samples.Distinct(Shape.Of(2, 3), 1)), ("target", T.Of([2], 2, 2)));
        var op = new CrossEntropy(ignoreIndex: 2);
        Assert.That(op.Forward(inputs).At(0), Is.NaN);
        Assert.That(op.Backward(inputs, T.Of([], 1))["input"].ToArray(), Is.All.EqualTo(0));
    }
}
