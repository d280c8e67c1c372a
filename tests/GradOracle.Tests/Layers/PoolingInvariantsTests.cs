using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

public class PoolingInvariantsTests
{
    private static InvariantReport Check(IHasInvariants op, Tensor x, Tensor dy, double[] dx) =>
        op.CheckInvariants(NamedTensors.Input(x), dy, NamedTensors.Input(Tensor.FromArray(x.Shape, dx)));

    [Test]
    public void Max_pool_invariants_hold_for_the_reference_gradient_under_every_policy()
    {
        var x = Samples.Ties(Shape.Of(2, 2, 6, 6), 3);
        foreach (var policy in Enum.GetValues<TiePolicy>())
        {
            var op = MaxPool.Create(2, [3], [1], [1], tiePolicy: policy);
            var dy = GradientChecker.RandomGradOutput(op.Forward(NamedTensors.Input(x)).Shape, 4);
            var report = Check(op, x, dy, T.Grad(op, x, dy));
            Assert.That(report.Holds, Is.True, $"{policy}: {report}");
        }
    }

    [Test]
    public void A_max_pool_gradient_at_a_non_maximum_breaks_the_routing_invariant()
    {
        // [1 3; 2 2] -> the gradient belongs at the 3 (position 1), not at position 2.
        var op = MaxPool.Create(2, [2]);
        var report = Check(op, T.Of([1, 1, 2, 2], 1, 3, 2, 2), T.Of([1, 1, 1, 1], 1), [0, 0, 1, 0]);
        Assert.That(report.Broke(MaxPool.OnlyAtMaxima), Is.True);
        Assert.That(report.ToString(), Does.Contain("input[0, 0, 1, 0] = 2 gets 1"));
    }

    [Test]
    public void A_gradient_shared_among_ties_breaks_the_one_receiver_rule_of_first()
    {
        var op = MaxPool.Create(2, [2]);
        var report = Check(op, T.Of([1, 1, 2, 2], 5, 5, 1, 5), T.Of([1, 1, 1, 1], 3), [1, 1, 0, 1]);
        Assert.That(report.Broke(MaxPool.OneReceiverPerWindow), Is.True);
        Assert.That(report.Broke(PoolingInvariants.SumPreserved), Is.False, "split shares still add up to dy");
        Assert.That(report.ToString(), Does.Contain("gave its gradient to 3 of its 3 tied maxima"));
    }

    [Test]
    public void Copying_dy_to_every_tie_breaks_the_sum_unless_the_policy_is_all()
    {
        var x = T.Of([1, 1, 2, 2], 5, 5, 1, 5);
        var dy = T.Of([1, 1, 1, 1], 3);
        double[] copied = [3, 3, 0, 3];
        Assert.That(Check(MaxPool.Create(2, [2], tiePolicy: TiePolicy.Split), x, dy, copied).Broke(PoolingInvariants.SumPreserved), Is.True);
        Assert.That(Check(MaxPool.Create(2, [2], tiePolicy: TiePolicy.All), x, dy, copied).Holds, Is.True);
    }

    [Test]
    public void A_copied_mean_pool_gradient_breaks_the_sum_by_the_window_size_and_says_so()
    {
        var op = AvgPool.Create(2, [2]);
        var x = T.Of([1, 1, 2, 4], 1, 2, 3, 4, 5, 6, 7, 8);
        var report = Check(op, x, T.Of([1, 1, 1, 2], 1, 2), [1, 1, 2, 2, 1, 1, 2, 2]);
        Assert.That(report.Broke(PoolingInvariants.SumPreserved), Is.True);
        Assert.That(report.ToString(), Does.Contain("(ratio 4)").And.Contain("copied to every window cell instead of divided by 4: 4x too large"));
    }

    [Test]
    public void Average_pool_sum_accounts_for_padding_counted_in_the_divisor()
    {
        // k=3, s=2, p=1 over 5 cells with count_include_pad: the end windows hold 2 cells but divide by 3,
        // so with dy = [3, 3, 3] only 2 + 3 + 2 = 7 reaches the input, not 9.
        var op = AvgPool.Create(1, [3], [2], [1]);
        var x = T.Of([1, 1, 5], 1, 2, 3, 4, 5);
        var dy = T.Of([1, 1, 3], 3, 3, 3);
        var dx = T.Grad(op, x, dy);
        Assert.That(dx.Sum(), Is.EqualTo(7));
        Assert.That(Check(op, x, dy, dx).Holds, Is.True);
    }

    [Test]
    public void Global_average_pooling_must_spread_dy_evenly()
    {
        var op = AvgPool.Global(1);
        var x = T.Of([1, 1, 4], 1, 2, 3, 4);
        var dy = T.Of([1, 1, 1], 2);
        Assert.That(Check(op, x, dy, [0.5, 0.5, 0.5, 0.5]).Holds, Is.True);
        var report = Check(op, x, dy, [2, 0, 0, 0]);
        Assert.That(report.Broke(AvgPool.EvenSpread), Is.True);
        Assert.That(report.Broke(PoolingInvariants.SumPreserved), Is.False, "the sum alone cannot see this bug");
    }

    [Test]
    public void Stochastic_pool_gradient_must_land_on_the_sampled_positions()
    {
        var op = StochasticPool.Create(1, [2]);
        var inputs = NamedTensors.Input(T.Of([1, 1, 4], 1, 3, 2, 2)).With("uniforms", T.Of([1, 1, 2], 1, 0.25));
        // Window 0: S=4, u=1 -> position 1; window 1: S=4, u=0.25 -> threshold 1, position 2.
        var dy = T.Of([1, 1, 2], 1, 2);
        var good = op.CheckInvariants(inputs, dy, NamedTensors.Input(T.Of([1, 1, 4], 0, 1, 2, 0)));
        var bad = op.CheckInvariants(inputs, dy, NamedTensors.Input(T.Of([1, 1, 4], 1, 0, 2, 0)));
        Assert.That(good.Holds, Is.True, good.ToString());
        Assert.That(bad.Broke(StochasticPool.OnlyAtSelected), Is.True);
    }

    [Test]
    public void Euler_identity_catches_a_gradient_that_preserves_the_sum_but_lands_on_the_wrong_cells()
    {
        // avg over [1, 2, 3, 4]: dx = [0.25]*4 is right; [1, 0, 0, 0] has the same sum but <x, dx> = 1, not 2.5.
        var op = AvgPool.Create(1, [4]);
        var x = T.Of([1, 1, 4], 1, 2, 3, 4);
        var report = Check(op, x, T.Of([1, 1, 1], 1), [1, 0, 0, 0]);
        Assert.That(report.Broke(PoolingInvariants.Euler), Is.True);
        Assert.That(report.Broke(PoolingInvariants.SumPreserved), Is.False);
    }

    [Test]
    public void A_gradient_of_the_wrong_shape_is_a_violation_not_a_crash()
    {
        var op = MaxPool.Create(1, [2]);
        var report = op.CheckInvariants(NamedTensors.Input(T.Of([1, 1, 2], 1, 2)), T.Of([1, 1, 1], 1), NamedTensors.Input(T.Of([2], 0, 1)));
        Assert.That(report.Broke(PoolingInvariants.ShapeMatches), Is.True);
    }
}
