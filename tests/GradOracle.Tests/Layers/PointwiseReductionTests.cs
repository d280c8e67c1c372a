using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>A loss weight broadcast from the right, as PyTorch broadcasts it.</summary>
public class PointwiseReductionTests
{
    [Test]
    public void A_weight_broadcasts_from_the_right_with_its_size_1_dimensions_repeated()
    {
        // weight (2, 1, 3) against input (2, 2, 3): element (a, b, c) reads weight (a, 0, c).
        var at = PointwiseReduction.Broadcast("weight", Shape.Of(2, 1, 3), Shape.Of(2, 2, 3));
        Assert.That(Enumerable.Range(0, 12).Select(at), Is.EqualTo(new[] { 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5 }));
        var last = PointwiseReduction.Broadcast("weight", Shape.Of(3), Shape.Of(2, 3));
        Assert.That(Enumerable.Range(0, 6).Select(last), Is.EqualTo(new[] { 0, 1, 2, 0, 1, 2 }));
        Assert.Throws<ParameterException>(() => PointwiseReduction.Broadcast("weight", Shape.Of(2), Shape.Of(2, 3)));
    }
}
