using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>An activation's gradient at its kinks: any slope between the one-sided ones, each element on its own.</summary>
public class KinkJudgeTests
{
    // hardtanh on [-1, 1]: edges at elements 0 and 3 (slopes 0 outside, 1 inside), the rest determined.
    private static readonly Tensor X = T.Of([5], -1, 0.5, -2, 1, 3);
    private static readonly Tensor Dy = T.Of([5], 2, -1, 4, -3, 5);

    private static ConventionJudgement Judge(KinkedActivation op, Tensor x, Tensor dy, double[] dx, Dictionary<string, string>? required = null, string dtype = "float64")
    {
        var inputs = NamedTensors.Input(x);
        var expected = OpResult.Of(op, inputs, dy);
        var compare = new AnswerComparer(dtype, DtypeTolerance.Allowances(op, inputs, dy, expected, dtype));
        return op.Judge(inputs, dy, new OpResult(expected.Output, NamedTensors.Input(T.Of([dx.Length], dx))), compare, required ?? []);
    }

    [TestCase(new[] { 2.0, -1, 0, -3, 0 }, "inside", "hardtanh at -1 and 1: the inside slope, at 2 element(s) (PyTorch: outside)")]
    [TestCase(new[] { 1.0, -1, 0, -1.5, 0 }, "mean", "hardtanh at -1 and 1: the mean slope, at 2 element(s) (PyTorch: outside)")]
    public void Another_side_s_slope_at_hardtanh_s_edges_is_valid_and_named(double[] dx, string choice, string text)
    {
        var j = Judge(Hardtanh.Of(), X, Dy, dx);
        Assert.That(j.Allowed, Is.True, j.Problem);
        Assert.That(j.Conventions.Single(), Has.Property("Choice").EqualTo(choice).And.Property("Text").EqualTo(text));
    }

    [Test]
    public void PyTorch_s_own_slopes_are_allowed_with_nothing_to_name()
    {
        var j = Judge(Hardtanh.Of(), X, Dy, [0, -1, 0, 0, 0]);
        Assert.That(j.Allowed, Is.True);
        Assert.That(j.Conventions, Is.Empty);
    }

    [Test]
    public void Slopes_that_differ_from_edge_to_edge_are_valid_and_mixed()
    {
        var j = Judge(Hardtanh.Of(), X, Dy, [0.5, -1, 0, -3, 0]); // a quarter at -1, inside at 1
        Assert.That(j.Allowed, Is.True, j.Problem);
        Assert.That(j.Conventions.Single().Choice, Is.EqualTo("mixed"));
    }

    [Test]
    public void A_slope_beyond_the_one_sided_ones_is_outside_the_set()
    {
        var j = Judge(Hardtanh.Of(), X, Dy, [4, -1, 0, 0, 0]);
        Assert.That(j.Allowed, Is.False);
        Assert.That(j.Problem, Is.EqualTo("input[0] = -1: dx = 4 lies outside [0, 1]·dy = [0, 2], the slopes hardtanh has on either side of -1"));
    }

    [Test]
    public void A_difference_away_from_the_kinks_is_no_convention_matter() =>
        Assert.That(Judge(Hardtanh.Of(), X, Dy, [0, -1, 4, 0, 0]), Is.EqualTo(ConventionJudgement.NotAConventionMatter));

    [Test]
    public void A_required_side_is_held()
    {
        var j = Judge(Hardtanh.Of(), X, Dy, [2, -1, 0, -3, 0], new() { ["hardtanh_at_edges"] = "outside" });
        Assert.That(j.Allowed, Is.False);
        Assert.That(j.Breaks, Is.EqualTo("hardtanh_at_edges"));
        Assert.That(Judge(Hardtanh.Of(), X, Dy, [2, -1, 0, -3, 0], new() { ["hardtanh_at_edges"] = "inside" }).Allowed, Is.True);
    }

    [Test]
    public void Hardswish_s_set_at_minus_three_lies_below_zero()
    {
        // Slopes 0 (outside) and -1/2 (inside) at -3: dy = 2 allows dx in [-1, 0].
        var x = T.Of([2], -3, 1);
        var dy = T.Of([2], 2, 1);
        Assert.That(Judge(new Hardswish(), x, dy, [-1, 5.0 / 6]).Conventions.Single().Choice, Is.EqualTo("inside"));
        Assert.That(Judge(new Hardswish(), x, dy, [1, 5.0 / 6]).Allowed, Is.False, "the slope 1/2 lies outside [-1/2, 0]");
    }

    [Test]
    public void Elu_with_alpha_one_has_no_kink_at_zero()
    {
        var x = T.Of([3], 0, -1, 2);
        Assert.That(Elu.Of(1).SituationsAt(NamedTensors.Input(x)), Is.Empty);
        Assert.That(Elu.Of(0.5).SituationsAt(NamedTensors.Input(x)), Is.EqualTo(new[] { "elu_at_zero" }));
        Assert.That(Elu.Celu(0.1).Situations, Is.Empty, "celu is continuously differentiable for every alpha");
    }
}
