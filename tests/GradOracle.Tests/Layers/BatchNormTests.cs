using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>Batch norm in training and evaluation, worked by hand.</summary>
public class BatchNormTests
{
    [Test]
    public void Batch_norm_in_training_normalises_with_the_biased_batch_variance()
    {
        // One channel, x = [1, 3]: mean 2, biased variance 1, x̂ = [-1, 1]/sqrt(1 + eps).
        var op = new BatchNorm(training: true, eps: 0.25);
        var inputs = new NamedTensors(("input", T.Of([2, 1], 1, 3)), ("weight", T.Of([1], 2)), ("bias", T.Of([1], 0.5)));
        double s = 1 / Math.Sqrt(1.25);
        Assert.That(op.Forward(inputs).ToArray(), Is.EqualTo(new[] { 0.5 - 2 * s, 0.5 + 2 * s }));
        // dy = [1, 1]: the mean term cancels everything: dx = [0, 0]; dweight = Σ dy·x̂ = 0; dbias = 2.
        var g = op.Backward(inputs, T.Of([2, 1], 1, 1));
        Assert.That(g["input"].ToArray(), Is.EqualTo(new[] { 0.0, 0 }).Within(1e-15));
        Assert.That(g["bias"].ToArray(), Is.EqualTo(new[] { 2.0 }));
    }

    [Test]
    public void Batch_norm_in_evaluation_uses_the_running_statistics()
    {
        // running mean 1, running var 3, eps 1: x̂ = (x - 1)/2; dx = dy·weight/2.
        var op = new BatchNorm(training: false, eps: 1);
        var inputs = new NamedTensors(("input", T.Of([2, 1], 1, 5)), ("weight", T.Of([1], 3)), ("bias", T.Of([1], 0)),
            ("running_mean", T.Of([1], 1)), ("running_var", T.Of([1], 3)));
        Assert.That(op.Forward(inputs).ToArray(), Is.EqualTo(new[] { 0.0, 6 }));
        Assert.That(op.Backward(inputs, T.Of([2, 1], 1, 2))["input"].ToArray(), Is.EqualTo(new[] { 1.5, 3 }));
    }

    [Test]
    public void Batch_norm_training_refuses_a_single_value_per_channel()
    {
        var e = Assert.Throws<ParameterException>(() => new BatchNorm(training: true, affine: false).Forward(NamedTensors.Input(Tensor.Zeros(Shape.Of(1, 3)))));
        Assert.That(e!.Message, Does.Contain("more than 1 value per channel"));
    }

    [Test]
    public void Training_updates_the_running_statistics_with_the_unbiased_variance_weighted_by_momentum()
    {
        // One channel of 1, 2, 3, 4: mean 2.5, unbiased variance 5/3. From (0, 1) with momentum 0.1: 0.25 and 0.9 + 0.1·5/3.
        var inputs = new NamedTensors(("input", T.Of([4, 1], 1, 2, 3, 4)), ("running_mean", T.Of([1], 0)), ("running_var", T.Of([1], 1)));
        var extras = new BatchNorm(training: true, affine: false).ExtraOutputs(inputs)!;
        Assert.That(extras["running_mean"].At(0), Is.EqualTo(0.25).Within(1e-15));
        Assert.That(extras["running_var"].At(0), Is.EqualTo(0.9 + 0.1 * 5 / 3.0).Within(1e-15));
        var half = new BatchNorm(training: true, affine: false, momentum: 0.5).ExtraOutputs(inputs)!;
        Assert.That(half["running_mean"].At(0), Is.EqualTo(1.25).Within(1e-15));
    }

    [Test]
    public void Evaluation_or_training_without_running_statistics_has_no_extra_outputs()
    {
        var x = T.Of([4, 1], 1, 2, 3, 4);
        Assert.That(new BatchNorm(training: true, affine: false).ExtraOutputs(NamedTensors.Input(x)), Is.Null);
        var running = new NamedTensors(("input", x), ("running_mean", T.Of([1], 0)), ("running_var", T.Of([1], 1)));
        Assert.That(new BatchNorm(training: false, affine: false).ExtraOutputs(running), Is.Null);
    }

    [Test]
    public void The_running_statistics_bugs_predict_keras_weighting_and_the_biased_variance()
    {
        // Keras-style with momentum 0.1: 0.1·old + 0.9·batch = 2.25 and 0.1 + 0.9·5/3; biased: 0.9 + 0.1·1.25.
        var inputs = new NamedTensors(("input", T.Of([4, 1], 1, 2, 3, 4)), ("running_mean", T.Of([1], 0)), ("running_var", T.Of([1], 1)));
        var bn = new BatchNorm(training: true, affine: false);
        var bugs = BatchNorm.Descriptor.Bugs(bn, inputs, T.Of([4, 1], 1, 1, 1, 1)).ToList();
        var keras = bugs.Single(b => b.Message.Contains("Keras")).PredictWhole!()!.Extras!;
        Assert.That(keras["running_mean"].At(0), Is.EqualTo(2.25).Within(1e-15));
        Assert.That(keras["running_var"].At(0), Is.EqualTo(0.1 + 0.9 * 5 / 3.0).Within(1e-15));
        var biased = bugs.Single(b => b.Message.Contains("biased")).PredictTensor!()!;
        Assert.That(biased.At(0), Is.EqualTo(0.9 + 0.1 * 1.25).Within(1e-15));
    }

    [Test]
    public void A_momentum_outside_zero_to_one_is_refused()
    {
        var e = Assert.Throws<ParameterException>(() => new BatchNorm(training: true, momentum: 1.5));
        Assert.That(e!.ParamName, Is.EqualTo("momentum"));
    }
}
