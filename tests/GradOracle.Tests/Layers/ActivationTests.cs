using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>The elementwise activations, worked by hand.</summary>
public class ActivationTests
{
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
}
