using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>Linear, worked by hand.</summary>
public class LinearTests
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
}
