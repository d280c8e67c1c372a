using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>Worked examples of average pooling and its divisor rules: every value here is worked by hand.</summary>
public class AvgPoolTests
{
    [Test]
    public void Source_example_mean_is_2_and_the_gradient_is_divided_among_the_4_cells()
    {
        // Seed document: forward [1 3; 2 2] -> 2, backward [2] -> [0.5 0.5; 0.5 0.5].
        var op = AvgPool.Create(2, [2]);
        var x = T.Of([1, 1, 2, 2], 1, 3, 2, 2);
        Assert.That(T.Out(op, x), Is.EqualTo(new[] { 2.0 }));
        Assert.That(T.Grad(op, x, T.Of([1, 1, 1, 1], 2)), Is.EqualTo(new[] { 0.5, 0.5, 0.5, 0.5 }));
    }

    // k=3, s=2, p=1 over [1..5]: windows {pad,0,1}, {1,2,3}, {3,4,pad} with sums 3, 9, 9.
    [TestCase(true, new[] { 1.0, 3, 3 })]     // divided by 3: padding counts
    [TestCase(false, new[] { 1.5, 3, 4.5 })]  // divided by 2, 3, 2: only the input counts
    public void Count_include_pad_decides_whether_padding_counts_in_the_divisor(bool include, double[] expected)
    {
        var op = AvgPool.Create(1, [3], [2], [1], countIncludePad: include);
        Assert.That(T.Out(op, T.Of([1, 1, 5], 1, 2, 3, 4, 5)), Is.EqualTo(expected));
    }

    [Test]
    public void Ceil_mode_last_window_divides_by_the_window_clipped_to_input_plus_padding()
    {
        // n=4, k=3, s=2, p=1, ceil: windows start at -1, 1, 3. The last covers {3, 4, 5}; position 4 is
        // padding and 5 lies past it, so pool_size = min(3+3, 4+1) - 3 = 2 and the in-bounds count is 1.
        var x = T.Of([1, 1, 4], 1, 2, 3, 4);
        var include = AvgPool.Create(1, [3], [2], [1], ceilMode: true);
        var exclude = AvgPool.Create(1, [3], [2], [1], ceilMode: true, countIncludePad: false);
        Assert.That(T.Out(include, x), Is.EqualTo(new[] { 1.0, 3, 2 }));   // 3/3, 9/3, 4/2
        Assert.That(T.Out(exclude, x), Is.EqualTo(new[] { 1.5, 3, 4 }));   // 3/2, 9/3, 4/1
        // dy = [3, 3, 2]: window 0 gives 1 to cells 0 and 1, window 1 gives 1 to cells 1..3, window 2 gives 1 to cell 3.
        Assert.That(T.Grad(include, x, T.Of([1, 1, 3], 3, 3, 2)), Is.EqualTo(new[] { 1.0, 2, 1, 2 }));
    }

    [Test]
    public void Divisor_override_replaces_the_count()
    {
        // 3x3 ones, k=3, s=1, p=1, divisor 4: each output is its in-bounds count / 4.
        var op = AvgPool.Create(2, [3], [1], [1], divisorOverride: 4);
        var x = Tensor.Create(Shape.Of(1, 1, 3, 3), _ => 1);
        Assert.That(T.Out(op, x), Is.EqualTo(new[] { 1.0, 1.5, 1, 1.5, 2.25, 1.5, 1, 1.5, 1 }));
        // With dy = 4 everywhere each input receives 1 per window containing it: 4 at corners, 6 at edges, 9 in the middle.
        var dy = Tensor.Create(Shape.Of(1, 1, 3, 3), _ => 4);
        Assert.That(T.Grad(op, x, dy), Is.EqualTo(new[] { 4.0, 6, 4, 6, 9, 6, 4, 6, 4 }));
    }

    [Test]
    public void A_zero_divisor_override_is_refused()
    {
        var e = Assert.Throws<ParameterException>(() => AvgPool.Create(2, [2], divisorOverride: 0));
        Assert.That(e!.ParamName, Is.EqualTo("divisor_override"));
    }

    [Test]
    public void Overlapping_windows_accumulate_their_shares()
    {
        // k=2, s=1 over 3 cells, dy = [2, 4]: cell 1 is in both windows and gets 2/2 + 4/2 = 3.
        var op = AvgPool.Create(1, [2], [1]);
        Assert.That(T.Grad(op, T.Of([1, 1, 3], 1, 2, 3), T.Of([1, 1, 2], 2, 4)), Is.EqualTo(new[] { 1.0, 3, 2 }));
    }

    [Test]
    public void Rank_3_average_divides_by_the_cube()
    {
        var op = AvgPool.Create(3, [2]);
        var x = T.Of([1, 1, 2, 2, 2], 1, 2, 3, 4, 5, 6, 7, 8);
        Assert.That(T.Out(op, x), Is.EqualTo(new[] { 4.5 }));
        Assert.That(T.Grad(op, x, T.Of([1, 1, 1, 1, 1], 4)), Is.EqualTo(Enumerable.Repeat(0.5, 8)));
    }

    [Test]
    public void Adaptive_average_pooling_uses_pytorchs_windows()
    {
        // 7 -> 3 over 1..7: windows [0,3), [2,5), [4,7) -> means 2, 4, 6. dy = [3, 6, 9]:
        // cells 0,1 get 1; cell 2 gets 1 + 2; cell 3 gets 2; cell 4 gets 2 + 3; cells 5, 6 get 3.
        var op = AvgPool.Adaptive(1, [3]);
        var x = T.Of([1, 1, 7], 1, 2, 3, 4, 5, 6, 7);
        Assert.That(T.Out(op, x), Is.EqualTo(new[] { 2.0, 4, 6 }));
        Assert.That(T.Grad(op, x, T.Of([1, 1, 3], 3, 6, 9)), Is.EqualTo(new[] { 1.0, 1, 3, 2, 5, 3, 3 }));
    }

    [Test]
    public void Global_average_pooling_spreads_dy_evenly_over_the_plane()
    {
        var op = AvgPool.Global(2);
        var x = T.Of([1, 1, 2, 4], 1, 2, 3, 4, 5, 6, 7, 8);
        Assert.That(T.Out(op, x), Is.EqualTo(new[] { 4.5 }));
        Assert.That(T.Grad(op, x, T.Of([1, 1, 1, 1], 2)), Is.EqualTo(Enumerable.Repeat(0.25, 8)));
    }
}
