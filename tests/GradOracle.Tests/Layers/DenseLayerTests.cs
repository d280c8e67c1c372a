using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>Linear, activations, softmax, cross-entropy, batch norm and flatten, worked by hand.</summary>
public class DenseLayerTests
{
    [Test]
    public void Linear_computes_x_w_transposed_plus_b_and_its_gradients()
    {
        // x = [[1, 2], [3, 4]], W = [[1, 0], [0.5, -1], [2, 1]], b = [0, 1, -1]:
        // y = [[1, -0.5, 3], [3, -1.5, 9]]. dy = [[1, 0, 1], [0, 2, 0]]:
        // dx = dy W = [[3, 1], [1, -2]]; dW = dy^T x = [[1, 2], [6, 8], [1, 2]]; db = [1, 2, 1].
        var inputs = new NamedTensors(("input", T.Of([2, 2], 1, 2, 3, 4)), ("weight", T.Of([3, 2], 1, 0, 0.5, -1, 2, 1)), ("bias", T.Of([3], 0, 1, -1)));
        var op = new Linear();
        Assert.That(op.Forward(inputs).ToArray(), Is.EqualTo(new[] { 1, -0.5, 3, 3, -1.5, 9 }));
        var g = op.Backward(inputs, T.Of([2, 3], 1, 0, 1, 0, 2, 0));
        Assert.That(g["input"].ToArray(), Is.EqualTo(new[] { 3.0, 1, 1, -2 }));
        Assert.That(g["weight"].ToArray(), Is.EqualTo(new[] { 1.0, 2, 6, 8, 1, 2 }));
        Assert.That(g["bias"].ToArray(), Is.EqualTo(new[] { 1.0, 2, 1 }));
    }

    [Test]
    public void Linear_refuses_a_weight_of_the_wrong_width()
    {
        var e = Assert.Throws<ParameterException>(() => new Linear(false).Forward(new NamedTensors(("input", Tensor.Zeros(Shape.Of(2, 3))), ("weight", Tensor.Zeros(Shape.Of(4, 2))))));
        Assert.That(e!.ParamName, Is.EqualTo("weight.shape"));
        Assert.That(e.Message, Does.Contain("in_features = input.shape[-1] = 3"));
    }

    [Test]
    public void Relu_passes_the_gradient_only_where_x_is_positive_and_not_at_zero()
    {
        var x = T.Of([4], -1, 0, 2, -0.0);
        Assert.That(T.Out(Activation.Relu(), x), Is.EqualTo(new[] { 0.0, 0, 2, 0 }));
        Assert.That(T.Grad(Activation.Relu(), x, T.Of([4], 5, 6, 7, 8)), Is.EqualTo(new[] { 0.0, 0, 7, 0 }));
    }

    [Test]
    public void Leaky_relu_uses_the_negative_slope_at_and_below_zero()
    {
        var op = Activation.LeakyRelu(0.25);
        var x = T.Of([3], -4, 0, 2);
        Assert.That(T.Out(op, x), Is.EqualTo(new[] { -1.0, 0, 2 }));
        Assert.That(T.Grad(op, x, T.Of([3], 4, 4, 4)), Is.EqualTo(new[] { 1.0, 1, 4 }));
    }

    [Test]
    public void Sigmoid_and_tanh_at_zero_have_slopes_one_quarter_and_one()
    {
        var x = T.Of([1], 0);
        Assert.That(T.Out(Activation.Sigmoid(), x), Is.EqualTo(new[] { 0.5 }));
        Assert.That(T.Grad(Activation.Sigmoid(), x, T.Of([1], 1)), Is.EqualTo(new[] { 0.25 }));
        Assert.That(T.Grad(Activation.Tanh(), x, T.Of([1], 1)), Is.EqualTo(new[] { 1.0 }));
    }

    [Test]
    public void Softmax_of_equal_logits_is_uniform_and_its_full_jacobian_couples_the_entries()
    {
        // x = [0, 0]: y = [0.5, 0.5]. dy = [1, 0]: dx = y ⊙ (dy - <dy, y>) = [0.5·0.5, 0.5·(-0.5)] = [0.25, -0.25].
        var op = new Softmax(1);
        var x = T.Of([1, 2], 0, 0);
        Assert.That(T.Out(op, x), Is.EqualTo(new[] { 0.5, 0.5 }));
        Assert.That(T.Grad(op, x, T.Of([1, 2], 1, 0)), Is.EqualTo(new[] { 0.25, -0.25 }));
    }

    [Test]
    public void Log_softmax_gradient_subtracts_softmax_times_the_row_sum()
    {
        // x = [0, 0]: log y = [-ln 2, -ln 2]; dy = [1, 0]: dx = dy - y·Σdy = [0.5, -0.5].
        var op = new Softmax(1, log: true);
        var x = T.Of([1, 2], 0, 0);
        Assert.That(T.Out(op, x), Is.EqualTo(new[] { -Math.Log(2), -Math.Log(2) }));
        Assert.That(T.Grad(op, x, T.Of([1, 2], 1, 0)), Is.EqualTo(new[] { 0.5, -0.5 }));
    }

    [Test]
    public void Softmax_refuses_a_dimension_outside_the_input()
    {
        var e = Assert.Throws<ParameterException>(() => new Softmax(2).Forward(NamedTensors.Input(Tensor.Zeros(Shape.Of(2, 3)))));
        Assert.That(e!.ParamName, Is.EqualTo("dim"));
        Assert.That(e.Message, Does.Contain("must lie in -2..1"));
    }

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
    public void Flatten_merges_the_trailing_dimensions_and_its_gradient_reshapes_back()
    {
        var op = new Flatten();
        var x = Tensor.Create(Shape.Of(2, 3, 2), i => i);
        Assert.That(op.Forward(NamedTensors.Input(x)).Shape, Is.EqualTo(Shape.Of(2, 6)));
        var dx = op.Backward(NamedTensors.Input(x), Tensor.Create(Shape.Of(2, 6), i => -i))["input"];
        Assert.That(dx.Shape, Is.EqualTo(Shape.Of(2, 3, 2)));
        Assert.That(dx.ToArray(), Is.EqualTo(Enumerable.Range(0, 12).Select(i => -(double)i)));
    }
}
