using GradOracle.Tensors;
using GradOracle.Verification;

namespace GradOracle.Tests.Verification;

public class DiffMapTests
{
    [Test]
    public void The_slice_holds_every_added_element_axis_by_axis()
    {
        var shape = Shape.Of(2, 3, 4, 40);
        var map = new DiffMap(shape, keep: 3);
        foreach (int n in new[] { 0, 1 })
            for (int c = 0; c < 3; c++)
                for (int w = 32; w < 40; w++)
                    map.Add(((n * 3 + c) * 4 + 1) * 40 + w, w);
        Assert.That(map.Count, Is.EqualTo(48));
        Assert.That(map.Slice("grads.input"), Is.EqualTo("grads.input[:, :, 1, 32-39]"));
    }

    [Test]
    public void Several_ranges_are_listed_and_past_the_limit_counted()
    {
        var map = new DiffMap(Shape.Of(100), keep: 1);
        foreach (int i in new[] { 0, 1, 10, 20, 30, 40, 41 }) map.Add(i, 1);
        Assert.That(map.Slice("y", ranges: 3), Is.EqualTo("y[{0-1, 10, 20, +2 more ranges}]"));
        Assert.That(map.Slice("y", ranges: 5), Is.EqualTo("y[{0-1, 10, 20, 30, 40-41}]"));
    }

    [Test]
    public void Differences_everywhere_give_no_slice_and_the_worst_come_largest_first()
    {
        var map = new DiffMap(Shape.Of(2, 2), keep: 2);
        map.Add(0, 1); map.Add(1, 5); map.Add(2, double.PositiveInfinity); map.Add(3, 2);
        Assert.That(map.Slice("y"), Is.Null);
        Assert.That(map.Worst(), Is.EqualTo(new[] { 2, 1 }));
    }
}
