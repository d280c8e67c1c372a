using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>max_unpool: placement at each plane's indices worked by hand, the gathering backward, and the rules it refuses.</summary>
public class MaxUnpoolTests
{
    // Two planes of two elements, unpooled with kernel 2 (output 4 per plane): plane 0 writes at 1 and 2, plane 1 at 0 and 3.
    private static NamedTensors In => new(("input", T.Of([1, 2, 2], 5, 6, 7, 8)), ("indices", T.Of([1, 2, 2], 1, 2, 0, 3)));

    [Test]
    public void Each_element_is_written_at_its_index_within_its_own_plane()
    {
        var y = MaxUnpool.Create(1, [2]).Forward(In);
        Assert.That(y.Shape, Is.EqualTo(Shape.Of(1, 2, 4)));
        Assert.That(y.ToArray(), Is.EqualTo(new double[] { 0, 5, 6, 0, 7, 0, 0, 8 }));
    }

    [Test]
    public void The_backward_gathers_the_gradient_at_each_index()
    {
        var dx = MaxUnpool.Create(1, [2]).Backward(In, T.Of([1, 2, 4], 1, 2, 3, 4, 5, 6, 7, 8))["input"];
        Assert.That(dx.ToArray(), Is.EqualTo(new double[] { 2, 3, 5, 8 }));
        var result = GradientChecker.Check(MaxUnpool.Create(1, [2]), In);
        Assert.That(result.Passed, Is.True, result.ToString());
    }

    [Test]
    public void Output_size_may_differ_from_the_default_by_less_than_the_stride()
    {
        Assert.That(MaxUnpool.Create(1, [2], outputSize: [5]).Forward(In).Shape, Is.EqualTo(Shape.Of(1, 2, 5)));
        var ex = Assert.Throws<ParameterException>(() => MaxUnpool.Create(1, [2], outputSize: [6]).Forward(In));
        Assert.That(ex!.Message, Does.Contain("output_size").And.Contain("strictly between 2 and 6"));
    }

    [Test]
    public void A_repeated_or_out_of_range_index_is_refused_naming_it()
    {
        var repeated = Assert.Throws<ParameterException>(() => MaxUnpool.Create(1, [2]).Forward(In.With("indices", T.Of([1, 2, 2], 1, 1, 0, 3))));
        Assert.That(repeated!.Message, Does.Contain("indices[0, 0, 1]").And.Contain("repeats a position of its plane"));
        var outside = Assert.Throws<ParameterException>(() => MaxUnpool.Create(1, [2]).Forward(In.With("indices", T.Of([1, 2, 2], 1, 4, 0, 3))));
        Assert.That(outside!.Message, Does.Contain("0..3"));
    }
}
