using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>Worked examples of max pooling: every value here is worked by hand.</summary>
public class MaxPoolTests
{
    [Test]
    public void Source_example_max_is_3_and_the_gradient_goes_only_to_the_3()
    {
        // Seed document: forward [1 3; 2 2] -> 3, backward [3] -> [0 3; 0 0].
        var op = MaxPool.Create(2, [2]);
        var x = T.Of([1, 1, 2, 2], 1, 3, 2, 2);
        var r = op.ForwardWithIndices(x);
        Assert.That(r.Output.ToArray(), Is.EqualTo(new[] { 3.0 }));
        Assert.That(r.Indices.Data, Is.EqualTo(new long[] { 1 }));
        Assert.That(T.Grad(op, x, T.Of([1, 1, 1, 1], 3)), Is.EqualTo(new[] { 0.0, 3, 0, 0 }));
    }

    // Window [5 5; 1 5] has three tied maxima at flat positions 0, 1 and 3; dy = 3.
    [TestCase(TiePolicy.First, 0, new[] { 3.0, 0, 0, 0 })]
    [TestCase(TiePolicy.Last, 3, new[] { 0.0, 0, 0, 3 })]
    [TestCase(TiePolicy.Split, 0, new[] { 1.0, 1, 0, 1 })]
    [TestCase(TiePolicy.All, 0, new[] { 3.0, 3, 0, 3 })]
    public void Tied_maxima_receive_the_gradient_as_the_policy_says(TiePolicy policy, long index, double[] expected)
    {
        var op = MaxPool.Create(2, [2], tiePolicy: policy);
        var x = T.Of([1, 1, 2, 2], 5, 5, 1, 5);
        Assert.That(op.ForwardWithIndices(x).Indices.Data, Is.EqualTo(new[] { index }));
        Assert.That(T.Grad(op, x, T.Of([1, 1, 1, 1], 3)), Is.EqualTo(expected));
    }

    [Test]
    public void Overlapping_windows_accumulate_their_gradients()
    {
        // 1-d, k=2, s=1 over [1, 4, 2]: both windows pick the 4 (position 1); dy = [1.5, 2.5] -> 4 there.
        var op = MaxPool.Create(1, [2], [1]);
        var x = T.Of([1, 1, 3], 1, 4, 2);
        Assert.That(T.Grad(op, x, T.Of([1, 1, 2], 1.5, 2.5)), Is.EqualTo(new[] { 0.0, 4, 0 }));
    }

    [Test]
    public void Overlapping_ties_are_resolved_per_window()
    {
        // All ones, 3x3, k=2, s=1: every window's first maximum is its top-left cell, so under `first`
        // input (r, c) receives dy of window (r, c) for r, c < 2 and nothing else.
        var op = MaxPool.Create(2, [2], [1]);
        var x = Tensor.Create(Shape.Of(1, 1, 3, 3), _ => 1);
        Assert.That(T.Grad(op, x, T.Of([1, 1, 2, 2], 1, 2, 3, 4)), Is.EqualTo(new[] { 1.0, 2, 0, 3, 4, 0, 0, 0, 0 }));
    }

    [Test]
    public void Nan_is_the_maximum_and_the_last_nan_is_recorded()
    {
        // [NaN 1; NaN 2]: NaN wins; of the NaNs at 0 and 2 the last in scan order (2) is recorded.
        var op = MaxPool.Create(2, [2]);
        var x = T.Of([1, 1, 2, 2], double.NaN, 1, double.NaN, 2);
        var r = op.ForwardWithIndices(x);
        Assert.That(double.IsNaN(r.Output.At(0)));
        Assert.That(r.Indices.Data, Is.EqualTo(new long[] { 2 }));
        Assert.That(T.Grad(op, x, T.Of([1, 1, 1, 1], 1.5)), Is.EqualTo(new[] { 0.0, 0, 1.5, 0 }));
    }

    [TestCase(TiePolicy.Split)]
    [TestCase(TiePolicy.All)]
    public void Several_nans_are_not_ties_under_any_policy(TiePolicy policy)
    {
        var op = MaxPool.Create(2, [2], tiePolicy: policy);
        var x = T.Of([1, 1, 2, 2], double.NaN, 1, double.NaN, 2);
        Assert.That(T.Grad(op, x, T.Of([1, 1, 1, 1], 1.5)), Is.EqualTo(new[] { 0.0, 0, 1.5, 0 }));
    }

    [Test]
    public void Under_the_ignore_rule_nan_loses_to_any_number()
    {
        var op = MaxPool.Create(2, [2], nanRule: NanRule.Ignore);
        var x = T.Of([1, 1, 2, 2], double.NaN, 1, double.NaN, 2);
        var r = op.ForwardWithIndices(x);
        Assert.That(r.Output.ToArray(), Is.EqualTo(new[] { 2.0 }));
        Assert.That(r.Indices.Data, Is.EqualTo(new long[] { 3 }));
    }

    [Test]
    public void Under_the_ignore_rule_an_all_nan_window_records_its_first_element()
    {
        var op = MaxPool.Create(1, [2], nanRule: NanRule.Ignore);
        var x = T.Of([1, 1, 4], double.NaN, double.NaN, 1, 2);
        var r = op.ForwardWithIndices(x);
        Assert.That(r.Indices.Data, Is.EqualTo(new long[] { 0, 3 }));
        Assert.That(double.IsNaN(r.Output.At(0)));
        Assert.That(T.Grad(op, x, T.Of([1, 1, 2], 1, 2)), Is.EqualTo(new[] { 1.0, 0, 0, 2 }));
    }

    [Test]
    public void Negative_and_positive_zero_tie_and_the_output_keeps_the_winners_sign()
    {
        // [-0, +0 | +0, -0], k=2: first keeps -0 then +0; last keeps +0 then -0.
        var x = T.Of([1, 1, 4], -0.0, 0.0, 0.0, -0.0);
        var first = MaxPool.Create(1, [2]).ForwardWithIndices(x);
        var last = MaxPool.Create(1, [2], tiePolicy: TiePolicy.Last).ForwardWithIndices(x);
        Assert.That(first.Indices.Data, Is.EqualTo(new long[] { 0, 2 }));
        Assert.That(first.Output.ToArray().Select(double.IsNegative), Is.EqualTo(new[] { true, false }));
        Assert.That(last.Indices.Data, Is.EqualTo(new long[] { 1, 3 }));
        Assert.That(last.Output.ToArray().Select(double.IsNegative), Is.EqualTo(new[] { false, true }));
    }

    [Test]
    public void An_all_minus_infinity_window_records_its_first_element()
    {
        var op = MaxPool.Create(1, [2]);
        var x = T.Of([1, 1, 4], double.NegativeInfinity, double.NegativeInfinity, 3, 3);
        var r = op.ForwardWithIndices(x);
        Assert.That(r.Output.ToArray(), Is.EqualTo(new[] { double.NegativeInfinity, 3 }));
        Assert.That(r.Indices.Data, Is.EqualTo(new long[] { 0, 2 }));
        Assert.That(T.Grad(op, x, T.Of([1, 1, 2], 1, 2)), Is.EqualTo(new[] { 1.0, 0, 2, 0 }));
    }

    [Test]
    public void Windows_hanging_over_the_padding_only_see_the_input()
    {
        // k=3, s=2, p=1 over [1..5]: windows {0,1}, {1,2,3}, {3,4} (padding never wins, even over negatives).
        var op = MaxPool.Create(1, [3], [2], [1]);
        var x = T.Of([1, 1, 5], -5, -4, -3, -2, -1);
        var r = op.ForwardWithIndices(x);
        Assert.That(r.Output.ToArray(), Is.EqualTo(new[] { -4.0, -2, -1 }));
        Assert.That(r.Indices.Data, Is.EqualTo(new long[] { 1, 3, 4 }));
    }

    [Test]
    public void Ceil_mode_keeps_a_partial_last_window()
    {
        // n=4, k=3, s=2, ceil: windows {0,1,2} and {2,3} (the second hangs past the end).
        var op = MaxPool.Create(1, [3], [2], ceilMode: true);
        var x = T.Of([1, 1, 4], 1, 2, 3, 9);
        Assert.That(T.Out(op, x), Is.EqualTo(new[] { 3.0, 9 }));
        Assert.That(T.Out(MaxPool.Create(1, [3], [2]), x), Is.EqualTo(new[] { 3.0 }));
    }

    [Test]
    public void Dilation_skips_the_cells_between_taps()
    {
        // k=2, d=3 over [9, 8, 7, 1, 0]: window 0 taps {0, 3} -> 9; window 1 taps {1, 4} -> 8 (stride 1).
        var op = MaxPool.Create(1, [2], [1], dilation: [3]);
        var x = T.Of([1, 1, 5], 9, 8, 7, 1, 0);
        var r = op.ForwardWithIndices(x);
        Assert.That(r.Output.ToArray(), Is.EqualTo(new[] { 9.0, 8 }));
        Assert.That(T.Grad(op, x, T.Of([1, 1, 2], 1, 2)), Is.EqualTo(new[] { 1.0, 2, 0, 0, 0 }));
    }

    [Test]
    public void Stride_larger_than_the_kernel_leaves_cells_without_gradient()
    {
        // k=2, s=3 over 5 cells: windows {0,1} and {3,4}; cell 2 is in no window.
        var op = MaxPool.Create(1, [2], [3]);
        var x = T.Of([1, 1, 5], 1, 2, 100, 4, 3);
        Assert.That(T.Out(op, x), Is.EqualTo(new[] { 2.0, 4 }));
        Assert.That(T.Grad(op, x, T.Of([1, 1, 2], 1, 1)), Is.EqualTo(new[] { 0.0, 1, 0, 1, 0 }));
    }

    [Test]
    public void Rank_3_pooling_takes_the_max_of_a_cube()
    {
        // (1,1,2,2,2) with one 2x2x2 window: the max 8 sits at flat index 5.
        var op = MaxPool.Create(3, [2]);
        var x = T.Of([1, 1, 2, 2, 2], 1, 2, 3, 4, 5, 8, 7, 6);
        var r = op.ForwardWithIndices(x);
        Assert.That(r.Output.ToArray(), Is.EqualTo(new[] { 8.0 }));
        Assert.That(r.Indices.Data, Is.EqualTo(new long[] { 5 }));
    }

    [Test]
    public void Indices_are_flat_within_each_plane()
    {
        // Two channels: each index counts from the start of its own plane, as PyTorch returns them.
        var op = MaxPool.Create(1, [2]);
        var x = T.Of([1, 2, 2], 1, 2, 4, 3);
        Assert.That(op.ForwardWithIndices(x).Indices.Data, Is.EqualTo(new long[] { 1, 0 }));
    }

    [Test]
    public void Adaptive_max_pooling_uses_pytorchs_windows()
    {
        // 7 -> 3 over 1..7: windows [0,3), [2,5), [4,7) -> 3, 5, 7 at 2, 4, 6.
        var op = MaxPool.Adaptive(1, [3]);
        var x = T.Of([1, 1, 7], 1, 2, 3, 4, 5, 6, 7);
        var r = op.ForwardWithIndices(x);
        Assert.That(r.Output.ToArray(), Is.EqualTo(new[] { 3.0, 5, 7 }));
        Assert.That(r.Indices.Data, Is.EqualTo(new long[] { 2, 4, 6 }));
        Assert.That(T.Grad(op, x, T.Of([1, 1, 3], 1, 2, 3)), Is.EqualTo(new[] { 0.0, 0, 1, 0, 2, 0, 3 }));
    }

    [Test]
    public void Global_max_pooling_takes_the_max_of_each_plane()
    {
        var op = MaxPool.Global(2);
        var x = T.Of([1, 2, 2, 2], 1, 7, 3, 2, -1, -2, -3, -0.5);
        Assert.That(T.Out(op, x), Is.EqualTo(new[] { 7.0, -0.5 }));
        Assert.That(T.Grad(op, x, T.Of([1, 2, 1, 1], 2, 3)), Is.EqualTo(new[] { 0.0, 2, 0, 0, 0, 0, 0, 3 }));
    }

    [Test]
    public void Input_of_the_wrong_rank_is_refused_naming_its_shape()
    {
        var e = Assert.Throws<ParameterException>(() => MaxPool.Create(2, [2]).ForwardWithIndices(Tensor.Zeros(Shape.Of(4, 4))));
        Assert.That(e!.ParamName, Is.EqualTo("input.shape"));
        Assert.That(e.Message, Does.Contain("(4, 4)").And.Contain("rank 4"));
    }

    [Test]
    public void A_grad_output_of_the_wrong_shape_is_refused()
    {
        var op = MaxPool.Create(2, [2]);
        var e = Assert.Throws<ParameterException>(() => op.Backward(NamedTensors.Input(Tensor.Zeros(Shape.Of(1, 1, 4, 4))), Tensor.Zeros(Shape.Of(1, 1, 3, 3))));
        Assert.That(e!.ParamName, Is.EqualTo("grad_output.shape"));
        Assert.That(e.Message, Does.Contain("must be (1, 1, 2, 2)"));
    }
}
