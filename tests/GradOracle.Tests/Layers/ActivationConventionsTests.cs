using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>relu's and leaky_relu's gradient at x = 0: any slope between the one-sided ones, element by element.</summary>
public class ActivationConventionsTests
{
    private static readonly Tensor X = T.Of([6], -1, 0, 2, -0.0, 0, 3);
    private static readonly Tensor Dy = T.Of([6], 1.5, 2, -1, -4, 0.5, 1);

    private static ConventionJudgement Judge(Activation op, double[] dx, Dictionary<string, string>? required = null, string dtype = "float64")
    {
        var inputs = NamedTensors.Input(X);
        var expected = OpResult.Of(op, inputs, Dy);
        var compare = new AnswerComparer(dtype, DtypeTolerance.Allowances(op, inputs, Dy, expected, dtype));
        return op.Judge(inputs, Dy, new OpResult(expected.Output, NamedTensors.Input(T.Of([6], dx))), compare, required ?? []);
    }

    [TestCase(1.0, "1", "relu at x = 0: gradient 1·dy, at 3 element(s) (PyTorch: 0)")]
    [TestCase(0.5, "0.5", "relu at x = 0: gradient 0.5·dy, at 3 element(s) (PyTorch: 0)")]
    public void A_relu_slope_in_zero_to_one_at_zero_is_valid_and_named(double slope, string choice, string text)
    {
        var j = Judge(Activation.Relu(), [0, 2 * slope, -1, -4 * slope, 0.5 * slope, 1]);
        Assert.That(j.Allowed, Is.True, j.Problem);
        Assert.That(j.Conventions.Single(), Has.Property("Choice").EqualTo(choice).And.Property("Text").EqualTo(text));
    }

    [Test]
    public void Different_slopes_at_different_zeros_are_each_valid()
    {
        var j = Judge(Activation.Relu(), [0, 2, -1, 0, 0.25, 1]);
        Assert.That(j.Allowed, Is.True, j.Problem);
        Assert.That(j.Conventions.Single().Choice, Is.EqualTo("mixed"));
    }

    [Test]
    public void A_slope_outside_zero_to_one_at_zero_is_outside_the_set()
    {
        var j = Judge(Activation.Relu(), [0, 4, -1, 0, 0, 1]);
        Assert.That(j.Allowed, Is.False);
        Assert.That(j.Problem, Is.EqualTo("input[1] = 0: dx = 4 lies outside [0, 1]·dy = [0, 2], the slopes relu has on either side of 0"));
    }

    [Test]
    public void A_difference_away_from_zero_is_no_convention_matter()
    {
        Assert.That(Judge(Activation.Relu(), [1.5, 0, -1, 0, 0, 1]), Is.EqualTo(ConventionJudgement.NotAConventionMatter));
    }

    [Test]
    public void A_required_slope_is_held_exactly()
    {
        var j = Judge(Activation.Relu(), [0, 2, -1, -4, 0.5, 1], new() { ["relu_at_zero"] = "0" });
        Assert.That(j.Allowed, Is.False);
        Assert.That(j.Breaks, Is.EqualTo("relu_at_zero"));
        Assert.That(j.Problem, Is.EqualTo("relu at x = 0: gradient 1·dy, at 3 element(s) (PyTorch: 0), where relu_at_zero=0 is required"));
        Assert.That(Judge(Activation.Relu(), [0, 2, -1, -4, 0.5, 1], new() { ["relu_at_zero"] = "1" }).Allowed, Is.True);
    }

    [Test]
    public void Leaky_relu_at_zero_may_take_any_slope_between_negative_slope_and_one()
    {
        var leaky = Activation.LeakyRelu(0.2);
        Assert.That(Judge(leaky, [1.5 * 0.2, 2, -1, -4, 0.5, 1]).Conventions.Single().Choice, Is.EqualTo("1"));
        Assert.That(Judge(leaky, [1.5 * 0.2, 2 * 0.6, -1, -4 * 0.6, 0.5 * 0.6, 1]).Allowed, Is.True);
        var below = Judge(leaky, [1.5 * 0.2, 0, -1, 0, 0, 1]);
        Assert.That(below.Allowed, Is.False);
        Assert.That(below.Problem, Does.StartWith("input[1] = 0: dx = 0 lies outside [0.2, 1]·dy"));
    }

    [Test]
    public void Smooth_activations_have_no_situations()
    {
        Assert.That(Activation.Sigmoid().Situations, Is.Empty);
        Assert.That(Activation.Tanh().SituationsAt(NamedTensors.Input(X)), Is.Empty);
        Assert.That(Activation.Relu().SituationsAt(NamedTensors.Input(X)), Is.EqualTo(new[] { "relu_at_zero" }));
    }
}
