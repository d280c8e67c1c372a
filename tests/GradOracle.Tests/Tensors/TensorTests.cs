using GradOracle.Tensors;

namespace GradOracle.Tests.Tensors;

public class TensorTests
{
    [Test]
    public void Data_is_row_major()
    {
        var t = T.Of([2, 3], 0, 1, 2, 3, 4, 5);
        Assert.That(t[1, 2], Is.EqualTo(5));
        Assert.That(t.Shape.Coordinates(4), Is.EqualTo(new[] { 1, 1 }));
        Assert.That(t.Shape.FlatIndex([1, 0]), Is.EqualTo(3));
    }

    [Test]
    public void A_data_length_that_does_not_match_the_shape_is_refused()
    {
        var e = Assert.Throws<ParameterException>(() => T.Of([2, 3], 1, 2));
        Assert.That(e!.Message, Does.Contain("2 values").And.Contain("(2, 3) needs exactly 6"));
    }

    [Test]
    public void Negative_dimensions_are_refused()
    {
        var e = Assert.Throws<ParameterException>(() => Shape.Of(2, -1));
        Assert.That(e!.ParamName, Is.EqualTo("shape[1]"));
    }

    [Test]
    public void Out_of_range_coordinates_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = T.Of([2, 2], 1, 2, 3, 4)[2, 0]);
    }

    [Test]
    public void The_caller_array_is_copied_so_the_tensor_never_changes()
    {
        var data = new[] { 1.0, 2 };
        var t = Tensor.FromArray(Shape.Of(2), data);
        data[0] = 99;
        Assert.That(t.At(0), Is.EqualTo(1));
        Assert.That(t.WithElement(0, 5).At(0), Is.EqualTo(5));
        Assert.That(t.At(0), Is.EqualTo(1));
    }

    [Test]
    public void Shapes_compare_by_dimensions()
    {
        var a = Shape.Of(1, 2);
        var b = Shape.Of([1, 2]);
        Assert.That(a, Is.EqualTo(b));
        Assert.That(a.GetHashCode(), Is.EqualTo(b.GetHashCode()));
        Assert.That(Shape.Of(1, 2) == Shape.Of(2, 1), Is.False);
        Assert.That(Shape.Of(1, 2).ToString(), Is.EqualTo("(1, 2)"));
    }

    [Test]
    public void Text_shows_values_round_trip_with_the_sign_of_zero()
    {
        Assert.That(T.Of([2], -0.0, 0.1).ToString(), Is.EqualTo("tensor(2) [-0, 0.1]"));
    }
}
