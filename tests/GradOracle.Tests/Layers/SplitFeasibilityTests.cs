using GradOracle.Layers;

namespace GradOracle.Tests.Layers;

/// <summary>The split feasibility flow: any split it is shown is feasible; a change of the total beyond the allowances is not.</summary>
public class SplitFeasibilityTests
{
    private static (List<(double Total, int[] Receivers)> Windows, double[] Got) Random(Random rng, int windows, int positions)
    {
        var list = new List<(double, int[])>();
        var got = new double[positions];
        for (int w = 0; w < windows; w++)
        {
            var receivers = Enumerable.Range(0, positions).Where(_ => rng.Next(3) == 0).DefaultIfEmpty(rng.Next(positions)).Distinct().ToArray();
            double total = Math.Round((rng.NextDouble() * 4 - 2) * 32) / 32;
            var shares = receivers.Select(_ => rng.NextDouble()).ToArray();
            double sum = shares.Sum();
            for (int k = 0; k < receivers.Length; k++) got[receivers[k]] += total * shares[k] / sum;
            list.Add((total, receivers));
        }
        return (list, got);
    }

    [Test]
    public void Every_split_of_mixed_sign_totals_over_shared_receivers_is_feasible()
    {
        var rng = new Random(11);
        for (int trial = 0; trial < 300; trial++)
        {
            var (windows, got) = Random(rng, rng.Next(1, 12), rng.Next(1, 10));
            var allowance = got.Select(v => 1e-12 * (Math.Abs(v) + 1)).ToArray();
            Assert.That(SplitFeasibility.Feasible(windows, got, allowance), Is.True, $"trial {trial}");
        }
    }

    [Test]
    public void A_total_moved_beyond_the_allowances_is_infeasible_and_within_them_feasible()
    {
        var rng = new Random(12);
        for (int trial = 0; trial < 300; trial++)
        {
            var (windows, got) = Random(rng, rng.Next(1, 12), rng.Next(1, 10));
            var allowance = got.Select(_ => 1e-9).ToArray();
            int i = rng.Next(got.Length);
            var moved = (double[])got.Clone();
            moved[i] += 2e-9 * got.Length; // more than all allowances together: the sum of what was received cannot match
            Assert.That(SplitFeasibility.Feasible(windows, moved, allowance), Is.False, $"trial {trial}");
            moved[i] = got[i] + 0.5e-9;
            Assert.That(SplitFeasibility.Feasible(windows, moved, allowance), Is.True, $"trial {trial}");
        }
    }

    [Test]
    public void A_receiver_no_window_reaches_must_get_nothing()
    {
        Assert.That(SplitFeasibility.Feasible([(1, [0])], [1, 0.5], [0, 0]), Is.False);
        Assert.That(SplitFeasibility.Feasible([(1, [0])], [1, 0], [0, 0]), Is.True);
    }
}
