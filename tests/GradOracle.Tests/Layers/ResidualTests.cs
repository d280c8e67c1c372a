using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>The skip connection: y = body(x) + x, both paths' gradients summed, worked by hand.</summary>
public class ResidualTests
{
    [Test]
    public void The_skip_adds_the_input_forward_and_dy_backward()
    {
        // body = linear with W = [[1, 2], [3, 4]]: body(x) = (3, 7) at x = (1, 1), y = (4, 8); dy = (1, 0): dx = dy·W + dy = (2, 2).
        var block = new Residual(new Sequential("body", new Linear(bias: false)));
        var inputs = new NamedTensors(("input", T.Of([1, 2], 1, 1)), ("0.weight", T.Of([2, 2], 1, 2, 3, 4)));
        Assert.That(block.Forward(inputs).ToArray(), Is.EqualTo(new double[] { 4, 8 }));
        var grads = block.Backward(inputs, T.Of([1, 2], 1, 0));
        Assert.That(grads["input"].ToArray(), Is.EqualTo(new double[] { 2, 2 }));
        Assert.That(grads["0.weight"].ToArray(), Is.EqualTo(new double[] { 1, 1, 0, 0 }));
        Assert.That(block.DifferentiableInputs, Is.EqualTo(new[] { "input", "0.weight" }));
    }

    [Test]
    public void A_body_that_changes_the_shape_is_refused()
    {
        var block = new Residual(new Sequential("body", new Linear(bias: false)));
        var inputs = new NamedTensors(("input", T.Of([1, 2], 1, 1)), ("0.weight", T.Of([3, 2], 1, 2, 3, 4, 5, 6)));
        var e = Assert.Throws<ParameterException>(() => block.Forward(inputs));
        Assert.That(e!.Message, Does.Contain("must have the input's shape"));
    }
}
