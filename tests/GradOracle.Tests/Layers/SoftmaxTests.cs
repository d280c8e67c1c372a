using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>Softmax and log-softmax, worked by hand.</summary>
public class SoftmaxTests
{
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
}
