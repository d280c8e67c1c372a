using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Checking;

public class GradientCheckerTests
{
    private static readonly Tensor Ones2x4x4 = Tensor.Create(Shape.Of(1, 2, 4, 4), i => 1 + i % 5 * 0.25 + i / 7 * 0.5);

    [Test]
    public void A_mean_pool_gradient_copied_instead_of_divided_fails_with_the_window_size_as_the_ratio()
    {
        var broken = new BrokenAvgPool(AvgPool.Create(2, [2]), BrokenAvgPool.Bug.CopiedNotDivided);
        var result = GradientChecker.Check(broken, NamedTensors.Input(Ones2x4x4));
        Assert.That(result.Passed, Is.False);
        Assert.That(result.Failures, Has.Length.EqualTo(32), "every cell of every window is 4x too large");
        var text = result.Describe();
        Assert.That(text, Does.Contain("gradient check failed for 'input': 32 of 32 elements wrong"));
        Assert.That(text, Does.Contain("analytic/numeric = 4 on every mismatch").And.Contain("4x too large"));
        Assert.That(text, Does.Match(@"input\[\d, \d, \d, \d\]: analytic -?[\d.]+, numeric -?[\d.]+"));
    }

    [Test]
    public void A_max_pool_gradient_sent_to_the_last_tie_while_first_is_declared_fails_at_the_kinks()
    {
        // Window [5 5; 1 5]: `last` gives dy to position 3, `first` to position 0. Both lie between the
        // one-sided slopes, so only the declared policy can tell them apart.
        var implementation = MaxPool.Create(2, [2], tiePolicy: TiePolicy.Last);
        var declared = MaxPool.Create(2, [2], tiePolicy: TiePolicy.First);
        var inputs = NamedTensors.Input(T.Of([1, 1, 2, 2], 5, 5, 1, 5));
        var result = GradientChecker.Check(implementation, inputs, T.Of([1, 1, 1, 1], 2), new GradCheckOptions { Declared = declared });

        Assert.That(result.Passed, Is.False);
        Assert.That(result.Kinks, Is.EqualTo(3), "the three tied maxima are kinks");
        Assert.That(result.Failures.Select(f => f.Where), Is.EquivalentTo(new[] { "input[0, 0, 0, 0]", "input[0, 0, 1, 1]" }));
        var first = result.Failures.Single(f => f.Index == 0);
        Assert.That((first.Analytic, first.Declared, first.Lower, first.Upper), Is.EqualTo((0.0, (double?)2.0, 0.0, 2.0)));
        Assert.That(result.Describe(), Does.Contain("declared rule gives 2").And.Contain("another of the tied maxima than the policy names"));

        // Without a declared policy the same gradient is a valid choice at every kink.
        Assert.That(GradientChecker.Check(implementation, inputs, T.Of([1, 1, 1, 1], 2)).Passed, Is.True);
    }

    [Test]
    public void Overlapping_windows_that_overwrite_instead_of_accumulate_fail_where_windows_overlap()
    {
        // k=3, s=1 over 5 cells: cells 1..3 lie in several windows; cells 0 and 4 in one only.
        var reference = AvgPool.Create(1, [3], [1]);
        var broken = new BrokenAvgPool(reference, BrokenAvgPool.Bug.OverwriteNotAccumulate);
        var x = T.Of([1, 1, 5], 0.5, -1, 2, 0.25, 3);
        var result = GradientChecker.Check(broken, NamedTensors.Input(x), T.Of([1, 1, 3], 3, 6, 12));

        Assert.That(result.Failures.Select(f => f.Index), Is.EquivalentTo(new[] { 1, 2, 3 }));
        // Cell 2 is in all three windows: 1 + 2 + 4 = 7 is right; the last write leaves 4.
        var cell2 = result.Failures.Single(f => f.Index == 2);
        Assert.That(cell2.Analytic, Is.EqualTo(4));
        Assert.That(cell2.Numeric, Is.EqualTo(7).Within(1e-9));
        Assert.That(result.Describe(), Does.Contain("input[0, 0, 2]: analytic 4, numeric 7"));
    }

    [Test]
    public void The_correct_backwards_pass_where_the_broken_ones_fail()
    {
        Assert.That(GradientChecker.Check(AvgPool.Create(2, [2]), NamedTensors.Input(Ones2x4x4)).Passed, Is.True);
        Assert.That(GradientChecker.Check(AvgPool.Create(1, [3], [1]), NamedTensors.Input(T.Of([1, 1, 5], 0.5, -1, 2, 0.25, 3))).Passed, Is.True);
    }

    [Test]
    public void Relu_at_zero_is_reported_as_a_kink_and_zero_is_accepted_there()
    {
        var x = T.Of([1, 4], -1, 0, 0.5, 0);
        var result = GradientChecker.Check(new TestRelu(), NamedTensors.Input(x), T.Of([1, 4], 1, 2, 3, -4));
        Assert.That(result.Passed, Is.True, result.Describe());
        Assert.That(result.Elements.Select(e => e.IsKink), Is.EqualTo(new[] { false, true, false, true }));
        var atZero = result.Elements[1];
        Assert.That((atZero.LeftSlope, atZero.RightSlope), Is.EqualTo((0.0, 2.0)));
    }

    [Test]
    public void A_gradient_outside_the_one_sided_slopes_at_a_kink_fails()
    {
        var x = T.Of([1, 2], 0, 1);
        var result = GradientChecker.Check(new TestRelu(gradientAtZero: 3), NamedTensors.Input(x), T.Of([1, 2], 1, 1));
        Assert.That(result.Passed, Is.False);
        var bad = result.Failures.Single();
        Assert.That((bad.Index, bad.IsKink, bad.Analytic), Is.EqualTo((0, true, 3.0)));
        Assert.That(bad.ToString(), Does.Contain("outside the range the one-sided slopes allow").And.Contain("acceptable [0, 1]"));
    }

    [Test]
    public void A_near_tie_inside_the_step_is_resolved_with_a_smaller_step_not_reported_as_a_kink()
    {
        // Max of [1, 1 + 2^-20]: the gap (1e-6) is inside the first step (2^-13), so the first stencil
        // sees a kink; the refined steps resolve it as smooth with derivative 0 and 1.
        var x = T.Of([1, 1, 2], 1, 1 + Math.Pow(2, -20));
        var result = GradientChecker.Check(MaxPool.Create(1, [2]), NamedTensors.Input(x), T.Of([1, 1, 1], 1));
        Assert.That(result.Passed, Is.True, result.Describe());
        Assert.That(result.Kinks, Is.EqualTo(0));
        Assert.That(result.Elements.Select(e => e.Numeric), Is.EqualTo(new[] { 0.0, 1.0 }).Within(1e-9));
        Assert.That(result.Elements[1].Note, Does.Contain("near-kink"));
    }

    [Test]
    public void Smooth_layers_are_checked_to_high_accuracy_with_an_error_estimate()
    {
        var op = StochasticPool.Create(2, [3], [2], training: false);
        var x = Samples.Positive(Shape.Of(1, 1, 7, 7), 5);
        var result = GradientChecker.Check(op, NamedTensors.Input(x));
        Assert.That(result.Passed, Is.True, result.Describe());
        Assert.That(result.WorstAbsoluteError, Is.LessThan(1e-9));
        Assert.That(result.Elements.All(e => e.ErrorEstimate is > 0 and < 1e-6), Is.True);
    }

    [Test]
    public void Nan_inputs_are_skipped_with_a_reason_and_do_not_spoil_the_other_elements()
    {
        var x = T.Of([1, 1, 4], double.NaN, 1, 2, 3);
        var result = GradientChecker.Check(MaxPool.Create(1, [2]), NamedTensors.Input(x), T.Of([1, 1, 2], 1, 1));
        Assert.That(result.Passed, Is.True, result.Describe());
        Assert.That(result.Skipped, Is.EqualTo(1));
        Assert.That(result.Elements[0].Note, Does.Contain("NaN"));
        Assert.That(result.Elements[3].Numeric, Is.EqualTo(1).Within(1e-12));
    }

    [Test]
    public void Nan_outputs_are_left_out_on_both_sides_so_inputs_sharing_a_window_with_a_nan_still_check()
    {
        // Average of [NaN, 1] is NaN: its share dy/2 reaches input 1 analytically but is invisible to finite
        // differences. The checker compares with dY zeroed at the NaN output, and says so.
        var x = T.Of([1, 1, 4], double.NaN, 1, 2, 3);
        var result = GradientChecker.Check(AvgPool.Create(1, [2]), NamedTensors.Input(x), T.Of([1, 1, 2], 1, 1));
        Assert.That(result.Passed, Is.True, result.Describe());
        Assert.That(result.ExcludedOutputs, Is.EqualTo(1));
        Assert.That(result.Elements[1].Analytic, Is.EqualTo(0), "window 0's share is left out with its NaN output");
        Assert.That(result.Elements[2].Numeric, Is.EqualTo(0.5).Within(1e-12));
        Assert.That(result.Describe(), Does.Contain("1 non-finite output(s) left out"));
    }

    [Test]
    public void A_backward_that_throws_is_reported_not_propagated()
    {
        var result = GradientChecker.Check(new MisbehavingOp(throws: true), NamedTensors.Input(T.Of([2], 1, 2)));
        Assert.That(result.Passed, Is.False);
        Assert.That(result.Error, Does.Contain("kernel exploded"));
    }

    [Test]
    public void A_gradient_of_the_wrong_shape_is_reported()
    {
        var result = GradientChecker.Check(new MisbehavingOp(throws: false), NamedTensors.Input(T.Of([2], 1, 2)));
        Assert.That(result.Passed, Is.False);
        Assert.That(result.Error, Does.Contain("gradient for 'input' has shape (1), the input (2)"));
    }

    [Test]
    public void The_worst_elements_come_first()
    {
        var broken = new BrokenAvgPool(AvgPool.Create(1, [3], [1]), BrokenAvgPool.Bug.OverwriteNotAccumulate);
        var result = GradientChecker.Check(broken, NamedTensors.Input(T.Of([1, 1, 5], 0.5, -1, 2, 0.25, 3)), T.Of([1, 1, 3], 3, 6, 12));
        var worst = result.Worst.First();
        Assert.That(worst.Index, Is.EqualTo(2), "cell 2 misses 1 + 2 of its 7");
    }

    [Test]
    public void The_random_upstream_gradient_is_reproducible_dyadic_and_never_zero()
    {
        var a = GradientChecker.RandomGradOutput(Shape.Of(1000), 9);
        var b = GradientChecker.RandomGradOutput(Shape.Of(1000), 9);
        Assert.That(a.ToArray(), Is.EqualTo(b.ToArray()));
        Assert.That(a.ToArray().All(v => v != 0 && v * 32 == Math.Round(v * 32)), Is.True);
    }

    [Test]
    public void The_step_is_the_power_of_two_nearest_log2_rounded_bit_for_bit_including_next_to_the_square_root_of_two()
    {
        static double ByLog(double v) => Math.Pow(2, Math.Round(Math.Log2(v)));
        var rng = new Random(7);
        var values = new List<double> { 1e-4, 1, 1.5, 2, 3, 1e300, double.Epsilon, 1e-310, double.MaxValue };
        for (int k = 0; k < 100_000; k++) values.Add(Math.ScaleB(1 + rng.NextDouble(), rng.Next(-1074, 1023)));
        // Mantissas within a few ulps of √2, where log2's rounding decides between 2^e and 2^(e+1).
        for (long d = -64; d <= 64; d++)
            for (int e = -20; e <= 20; e += 5) values.Add(Math.ScaleB(BitConverter.Int64BitsToDouble(BitConverter.DoubleToInt64Bits(Math.Sqrt(2)) + d), e));
        foreach (var v in values)
            Assert.That(BitConverter.DoubleToInt64Bits(GradientChecker.PowerOfTwoNear(v)), Is.EqualTo(BitConverter.DoubleToInt64Bits(ByLog(v))), $"{v:R}");
    }
}
