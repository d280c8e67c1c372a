using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>
/// Max pooling's valid set at ties and NaN windows: every rule the oracle computes, and any other non-negative
/// split over exactly the tied maxima, lies inside; Theano's rule, a wrong total, a sign change or a gradient at
/// a non-maximum lies outside, and each is named.
/// </summary>
public class MaxPoolConventionsTests
{
    private static readonly Dictionary<string, string> Any = [];

    private static ConventionJudgement Judge(MaxPool rule, NamedTensors inputs, Tensor dy, OpResult answer, Dictionary<string, string>? required = null)
    {
        var expected = OpResult.Of(rule, inputs, dy);
        var compare = new AnswerComparer("float64", DtypeTolerance.Allowances(rule, inputs, dy, expected, "float64"));
        return rule.Judge(inputs, dy, answer, compare, required ?? Any);
    }

    private static (NamedTensors Inputs, Tensor Dy) Case(MaxPool op, Tensor x, int seed) =>
        (NamedTensors.Input(x), GradientChecker.RandomGradOutput(op.Forward(NamedTensors.Input(x)).Shape, seed));

    private static IEnumerable<MaxPool> Geometries() =>
    [
        MaxPool.Create(2, [2], [2]),
        MaxPool.Create(2, [3], [1]),          // heavily overlapping: tied maxima shared by many windows
        MaxPool.Create(2, [3], [2], [1]),
        MaxPool.Create(1, [2], [1]),
        MaxPool.Adaptive(2, [3, 2]),
        MaxPool.Global(2),
    ];

    /// <summary>
    /// A gradient that splits each window's gradient over its tied maxima in random non-negative shares, computed here from
    /// the windows alone (not the oracle's rules): always a valid gradient.
    /// </summary>
    private static Tensor RandomSplit(MaxPool op, Tensor x, Tensor dy, Random rng)
    {
        var g = op.GeometryFor(x.Shape);
        var dx = new double[x.Count];
        var taps = new int[g.MaxWindowSize];
        var kt = new int[g.MaxWindowSize];
        for (int p = 0; p < x.Shape[0] * x.Shape[1]; p++)
            for (int o = 0; o < g.OutputPlaneSize; o++)
            {
                int n = g.Gather(o, taps, kt);
                double max = taps.Take(n).Max(t => x.At(p * g.InputPlaneSize + t));
                var tied = taps.Take(n).Where(t => x.At(p * g.InputPlaneSize + t) == max).ToList();
                var shares = tied.Select(_ => rng.NextDouble() + 0.05).ToList();
                double sum = shares.Sum();
                for (int k = 0; k < tied.Count; k++) dx[p * g.InputPlaneSize + tied[k]] += dy.At(p * g.OutputPlaneSize + o) * shares[k] / sum;
            }
        return Tensor.FromArray(x.Shape, dx);
    }

    [TestCase(TiePolicy.Last, "last")]
    [TestCase(TiePolicy.Split, "split")]
    public void Every_tie_rule_the_oracle_computes_is_valid_and_named_after_itself(TiePolicy tie, string name)
    {
        foreach (var op in Geometries())
            for (int seed = 1; seed <= 4; seed++)
            {
                var (inputs, dy) = Case(op, Samples.Ties(Shape.Of([2, 2, .. Enumerable.Repeat(6, op.Windows.Rank)]), seed), seed);
                var answer = OpResult.Of(op.WithRules(tie, NanRule.Propagate), inputs, dy);
                var j = Judge(op, inputs, dy, answer);
                Assert.That(j.Allowed, Is.True, $"{op.Name} {op.Attributes}: {j.Problem}");
                Assert.That(j.Conventions.Select(c => (c.Situation, c.Choice)), Is.EqualTo(new[] { ("tie_policy", name) }), $"{op.Name} {op.Attributes}");
                Assert.That(Judge(op, inputs, dy, answer, new() { ["tie_policy"] = name }).Allowed, Is.True, "the rule it follows, required");
            }
    }

    [TestCase(NanRule.PropagateFirst, "propagate_first")]
    [TestCase(NanRule.PropagateSplit, "propagate_split")]
    [TestCase(NanRule.PropagateNone, "propagate_none")]
    [TestCase(NanRule.Ignore, "ignore")]
    public void Every_nan_rule_the_oracle_computes_is_valid_and_named_after_itself(NanRule rule, string name)
    {
        foreach (var op in new[] { MaxPool.Create(2, [2], [2]), MaxPool.Create(2, [3], [1]), MaxPool.Global(2) })
        {
            // Two NaNs side by side in one window, so that which NaN receives the gradient shows.
            var x = Samples.With(Samples.Distinct(Shape.Of(1, 2, 4, 4), 3), double.NaN, 0, 1, 21);
            var (inputs, dy) = Case(op, x, 5);
            var answer = OpResult.Of(op.WithRules(TiePolicy.First, rule), inputs, dy);
            var j = Judge(op, inputs, dy, answer);
            Assert.That(j.Allowed, Is.True, $"{op.Name} {op.Attributes}: {j.Problem}");
            Assert.That(j.Conventions.Select(c => (c.Situation, c.Choice)), Is.EqualTo(new[] { ("nan_rule", name) }), $"{op.Name} {op.Attributes}");
            Assert.That(Judge(op, inputs, dy, answer, new() { ["nan_rule"] = name }).Allowed, Is.True, "the rule it follows, required");
        }
    }

    [Test]
    public void Any_other_non_negative_split_over_the_tied_maxima_is_valid_even_where_windows_share_them()
    {
        var rng = new Random(7);
        foreach (var op in Geometries())
            for (int seed = 1; seed <= 5; seed++)
            {
                var x = Samples.Ties(Shape.Of([2, 2, .. Enumerable.Repeat(6, op.Windows.Rank)]), seed);
                var (inputs, dy) = Case(op, x, seed);
                var j = Judge(op, inputs, dy, new OpResult(op.Forward(inputs), NamedTensors.Input(RandomSplit(op, x, dy, rng))));
                Assert.That(j.Allowed, Is.True, $"{op.Name} {op.Attributes} seed {seed}: {j.Problem}");
                Assert.That(j.Conventions.Single().Choice, Is.EqualTo("other"));
            }
    }

    [Test]
    public void Theanos_rule_is_outside_the_set_and_named_unless_it_is_declared()
    {
        var op = MaxPool.Create(2, [3], [1]);
        var (inputs, dy) = Case(op, Samples.Ties(Shape.Of(1, 2, 6, 6), 2), 2);
        var all = OpResult.Of(op.WithRules(TiePolicy.All, NanRule.Propagate), inputs, dy);
        var j = Judge(op, inputs, dy, all);
        Assert.That(j.Allowed, Is.False);
        Assert.That(j.Problem, Does.StartWith("every tied maximum receives its window's full gradient (Theano's rule, tie_policy=all)").And.EndWith("so it is not a gradient"));
        Assert.That(j.Conventions.Single(c => c.Situation == "tie_policy"), Has.Property("Choice").EqualTo("all").And.Property("Valid").False);
        Assert.That(Judge(op.WithRules(TiePolicy.All, NanRule.Propagate), inputs, dy, all, new() { ["tie_policy"] = "all" }).Allowed, Is.True,
            "declared, Theano's rule is the one it is judged by");
        var first = OpResult.Of(op, inputs, dy);
        var declaredAll = Judge(op.WithRules(TiePolicy.All, NanRule.Propagate), inputs, dy, first, new() { ["tie_policy"] = "all" });
        Assert.That(declaredAll.Problem, Does.StartWith("tied maxima: the first receives the gradient, in ").And.EndWith("(PyTorch's rule), where tie_policy=all is required"));
        Assert.That(declaredAll.Conventions.Single().Choice, Is.EqualTo("first"), "what the answer did is on record");
    }

    [Test]
    public void A_valid_rule_other_than_the_required_one_fails_and_says_which_situation()
    {
        var op = MaxPool.Create(2, [2], [2]);
        var (inputs, dy) = Case(op, Samples.Ties(Shape.Of(1, 2, 6, 6), 4), 4);
        var j = Judge(op, inputs, dy, OpResult.Of(op.WithRules(TiePolicy.Last, NanRule.Propagate), inputs, dy), new() { ["tie_policy"] = "first" });
        Assert.That(j.Allowed, Is.False);
        Assert.That(j.Breaks, Is.EqualTo("tie_policy"));
        Assert.That(j.Problem, Does.StartWith("tied maxima: the last receives the gradient").And.EndWith("where tie_policy=first is required"));
    }

    [Test]
    public void A_gradient_at_an_input_that_is_no_windows_maximum_is_outside_the_set()
    {
        var op = MaxPool.Create(1, [2], [2]);
        var x = T.Of([1, 1, 4], 1, 1, 3, 0);
        var dy = T.Of([1, 1, 2], 2, 4);
        // The tied window splits its 2 validly; the 4 of the other window leaks half onto its non-maximum.
        var j = Judge(op, NamedTensors.Input(x), dy, new OpResult(T.Of([1, 1, 2], 1, 3), NamedTensors.Input(T.Of([1, 1, 4], 1, 1, 2, 2))));
        Assert.That(j.Allowed, Is.False);
        Assert.That(j.Problem, Is.EqualTo("input[0, 0, 3] = 0 receives 2 but is not a maximum of any window containing it"));
    }

    [TestCase(new[] { 1.5, 1.5 }, "in all, which no split of its gradient gives")]
    [TestCase(new[] { 4.0, -2.0 }, "a share of the opposite sign")]
    public void A_tied_window_that_passes_the_wrong_total_or_a_negative_share_is_outside_the_set(double[] shares, string why)
    {
        var op = MaxPool.Create(1, [2], [2]);
        var x = T.Of([1, 1, 4], 1, 1, 3, 0);
        var dy = T.Of([1, 1, 2], 2, 4);
        var dx = T.Of([1, 1, 4], shares[0], shares[1], 4, 0);
        var j = Judge(op, NamedTensors.Input(x), dy, new OpResult(T.Of([1, 1, 2], 1, 3), NamedTensors.Input(dx)));
        Assert.That(j.Allowed, Is.False);
        Assert.That(j.Problem, Does.StartWith("window (0, 0, 0) passes 2 to its tied maxima (input[0, 0, 0] = 1 gets").And.Contain(why));
    }

    [Test]
    public void Overlapping_windows_are_judged_jointly_where_every_element_alone_would_look_possible()
    {
        // Windows {0,1}, {1,2}, {2,3} over four tied values pass 1, -1, 1. Each element of (1, 1, -1, 0) lies between what
        // the windows containing it could give it, and the total is right, but no split of each window over its own
        // maxima adds up to it: window 0 would have to pass all of its 1 to x0, leaving x1's 1 to come from window 1's -1.
        var op = MaxPool.Create(1, [2], [1]);
        var x = T.Of([1, 1, 4], 1, 1, 1, 1);
        var dy = T.Of([1, 1, 3], 1, -1, 1);
        var inputs = NamedTensors.Input(x);
        var y = op.Forward(inputs);
        var invalid = Judge(op, inputs, dy, new OpResult(y, NamedTensors.Input(T.Of([1, 1, 4], 1, 1, -1, 0))));
        Assert.That(invalid.Allowed, Is.False);
        Assert.That(invalid.Problem, Does.StartWith("the 3 windows (0, 0, 0), (0, 0, 1), (0, 0, 2) share tied maxima and pass 1 in all"));
        var valid = Judge(op, inputs, dy, new OpResult(y, NamedTensors.Input(T.Of([1, 1, 4], 0, 1, -1, 1))));
        Assert.That(valid.Allowed, Is.True, valid.Problem);
    }

    [Test]
    public void A_nan_window_whose_gradient_reaches_a_finite_element_is_outside_the_set()
    {
        var op = MaxPool.Create(1, [2], [2]);
        var x = T.Of([1, 1, 4], double.NaN, 1, 3, 0);
        var dy = T.Of([1, 1, 2], 2, 4);
        var j = Judge(op, NamedTensors.Input(x), dy, new OpResult(T.Of([1, 1, 2], double.NaN, 3), NamedTensors.Input(T.Of([1, 1, 4], 0, 2, 4, 0))));
        Assert.That(j.Allowed, Is.False);
        Assert.That(j.Problem, Is.EqualTo("input[0, 0, 1] = 1 receives 2 but is not a maximum of any window containing it"));
    }

    [Test]
    public void A_rule_that_differs_by_window_is_judged_window_by_window()
    {
        // TensorFlow CPU's: a comparison > starting from the first element keeps NaN only when it comes first.
        var op = MaxPool.Create(1, [2], [2]);
        var x = T.Of([1, 1, 6], double.NaN, 1, 2, double.NaN, 5, 4);
        var dy = T.Of([1, 1, 3], 1, 2, 3);
        var answer = new OpResult(T.Of([1, 1, 3], double.NaN, 2, 5), NamedTensors.Input(T.Of([1, 1, 6], 1, 0, 2, 0, 3, 0)));
        var j = Judge(op, NamedTensors.Input(x), dy, answer);
        Assert.That(j.Allowed, Is.True, j.Problem);
        Assert.That(j.Conventions.Single().Text, Is.EqualTo("NaN wins in 1 window(s) and loses every comparison in 1 (PyTorch: NaN always wins)"));
        var strict = Judge(op, NamedTensors.Input(x), dy, answer, new() { ["nan_rule"] = "propagate" });
        Assert.That(strict.Allowed, Is.False);
        Assert.That(strict.Breaks, Is.EqualTo("nan_rule"));
    }

    [TestCase("float32")]
    [TestCase("float64")]
    public void Nans_sharing_overlapping_windows_gradients_in_rounded_shares_are_the_declared_split(string dtype)
    {
        // Three or more NaNs in overlapping windows: every NaN may receive, so every NaN has a magnitude to round against.
        var op = MaxPool.Create(1, [5], [1]);
        var x = Tensor.Create(Shape.Of(1, 1, 7), _ => double.NaN);
        var dy = DtypeTolerance.Round(T.Of([1, 1, 3], 0.294132496655526, 0.02842224131579679, 0.5467129866124469), dtype);
        var dx = new double[7];
        for (int o = 2; o >= 0; o--) // the shares added in reverse window order, in the dtype's arithmetic
            for (int k = 0; k < 5; k++)
                dx[o + k] = DtypeTolerance.Round(dx[o + k] + DtypeTolerance.Round(dy.At(o) / 5, dtype), dtype);
        var inputs = NamedTensors.Input(x);
        var rule = op.WithRules(TiePolicy.First, NanRule.PropagateSplit);
        var expected = OpResult.Of(rule, inputs, dy);
        var compare = new AnswerComparer(dtype, DtypeTolerance.Allowances(rule, inputs, dy, expected, dtype));
        var answer = new OpResult(expected.Output, NamedTensors.Input(Tensor.FromArray(x.Shape, dx)));
        Assert.That(compare.Same(expected, answer), Is.True, "within the allowances of the rule itself");
        var j = op.Judge(inputs, dy, answer, compare, Any);
        Assert.That(j.Conventions.Single().Choice, Is.EqualTo("propagate_split"), j.Problem);
    }

    [Test]
    public void An_element_off_by_far_more_than_its_allowance_fails_in_a_large_tied_component()
    {
        // A 32 x 32 plane of equal values, kernel 3, stride 1: one component of 900 windows. A valid split with one
        // element moved by 3e-8 (its allowance is about 1e-12) is no valid split.
        var op = MaxPool.Create(2, [3], [1]);
        var x = Tensor.Create(Shape.Of(1, 1, 32, 32), _ => 0);
        var (inputs, dy) = Case(op, x, 9);
        var dx = RandomSplit(op, x, dy, new Random(3)).ToArray();
        dx[500] += 3e-8;
        var j = Judge(op, inputs, dy, new OpResult(op.Forward(inputs), NamedTensors.Input(Tensor.FromArray(x.Shape, dx))));
        Assert.That(j.Allowed, Is.False);
        Assert.That(j.Problem, Does.StartWith("the 900 windows"));
    }

    [Test]
    public void A_difference_away_from_every_tie_and_nan_is_no_convention_matter()
    {
        var op = MaxPool.Create(1, [2], [2]);
        var x = T.Of([1, 1, 4], 1, 1, 3, 0);
        var dy = T.Of([1, 1, 2], 2, 4);
        var j = Judge(op, NamedTensors.Input(x), dy, new OpResult(T.Of([1, 1, 2], 1, 3), NamedTensors.Input(T.Of([1, 1, 4], 2, 0, 8, 0))));
        Assert.That(j, Is.EqualTo(ConventionJudgement.NotAConventionMatter));
    }
}
