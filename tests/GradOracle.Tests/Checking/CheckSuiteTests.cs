using GradOracle.Layers;
using GradOracle.Checking;

namespace GradOracle.Tests.Checking;

public class CheckSuiteTests
{
    private static IEnumerable<TestCaseData> Cases() =>
        CheckSuite.All().Select(c => new TestCaseData(c).SetArgDisplayNames($"{c.Op.Name} {c.Configuration}"));

    [TestCaseSource(nameof(Cases))]
    public void Every_built_in_configuration_passes_finite_differences_and_invariants(CheckCase c)
    {
        var outcome = CheckOutcome.Of(c);
        Assert.That(outcome.Gradients!.Passed, Is.True, outcome.Gradients!.Describe());
        Assert.That(outcome.Invariants.Holds, Is.True, outcome.Invariants.ToString());
        Assert.That(outcome.Gradients!.Checked, Is.GreaterThan(0));
    }

    [Test]
    public void The_suite_covers_every_rank_layer_family_and_edge_case_named_in_the_rules()
    {
        var cases = CheckSuite.Pooling();
        var names = cases.Select(c => c.Op.Name).ToHashSet();
        foreach (var family in new[] { "max_pool", "avg_pool", "adaptive_max_pool", "adaptive_avg_pool", "global_max_pool", "global_avg_pool", "stochastic_pool" })
            foreach (var rank in new[] { 1, 2, 3 })
                Assert.That(names, Does.Contain($"{family}{rank}d"));
        var exercised = cases.SelectMany(c => c.Exercises).ToHashSet();
        Assert.That(exercised, Is.SupersetOf(new[] { "ties", "nan", "negative-zero", "padding-edge", "ceil-last-window", "overlapping", "dilation", "divisor-override", "stride-gt-kernel" }));
        Assert.That(cases.Where(c => c.Op.Attributes.Contains("tie_policy")).Select(c => (string)c.Op.Attributes["tie_policy"]).ToHashSet(),
            Is.SupersetOf(new[] { "first", "last", "split", "all" }));
    }

    [Test]
    public void Ties_in_the_suite_are_detected_as_kinks()
    {
        var tied = CheckSuite.Pooling().Where(c => c.Exercises.Contains("ties")).Select(c => CheckOutcome.Of(c)).ToList();
        Assert.That(tied.All(o => o.Gradients!.Kinks > 0), Is.True);
    }

    [Test]
    public void The_screen_outcome_reports_screened_elements_and_the_invariants()
    {
        var c = CheckSuite.All().First(c => c.Op.Name == "conv2d");
        var o = CheckOutcome.Of(c, seed: 1, screen: true);
        Assert.That(o.Gradients, Is.Null);
        Assert.That(o.Screen!.Passed, Is.True, o.Describe());
        Assert.That(o.Elements, Is.EqualTo(o.Screen.Screened).And.GreaterThan(0));
        Assert.That(o.Invariants.Holds, Is.True);
        Assert.That(o.Passed, Is.True);
    }
}
