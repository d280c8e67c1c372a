using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>Flatten, worked by hand.</summary>
public class FlattenTests
{
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
