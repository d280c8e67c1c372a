using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;
using GradOracle.Tests.Torch;
using GradOracle.Torch;

namespace GradOracle.Tests.Layers;

/// <summary>prelu: its gradients against finite differences and libtorch, its weight's shape rule, and its valid set at 0.</summary>
public class PreluTests
{
    // (2, 2, 3) with zeros in both channels (elements 1 and 10) and per-channel slopes 0.25 and -0.5.
    private static readonly Tensor X = T.Of([2, 2, 3], 1.5, 0, -2, 0.5, -1, 3, -0.75, 2, -3, 4, 0, -0.25);
    private static readonly Tensor W = T.Of([2], 0.25, -0.5);
    private static readonly NamedTensors In = new(("input", X), ("weight", W));
    private static readonly Tensor Dy = T.Of([2, 2, 3], 1, 2, -1, 0.5, 3, -2, 1.5, -1, 2, 1, -4, 0.5);

    [Test]
    public void Its_gradients_agree_with_finite_differences_and_the_zeros_are_kinks()
    {
        var result = GradientChecker.Check(Prelu.Of(), In);
        Assert.That(result.Passed, Is.True, result.ToString());
        Assert.That(result.Kinks, Is.GreaterThanOrEqualTo(2));
    }

    [Test]
    public void The_weight_gradient_sums_dy_x_where_x_is_not_positive()
    {
        var g = Prelu.Of().Backward(In, Dy);
        // channel 0: x = -2 (dy -1), -0.75 (1.5), -3 (2): 2 - 1.125 - 6; channel 1: -1 (3), -0.25 (0.5); 0 adds nothing.
        Assert.That(g["weight"].ToArray(), Is.EqualTo(new[] { 2 - 1.125 - 6, -3 - 0.125 }));
        Assert.That(g["input"].At(1), Is.EqualTo(2 * 0.25), "PyTorch's slope at 0: the weight");
    }

    [Test]
    public void It_agrees_with_libtorch_at_zero_with_shared_and_per_channel_weights()
    {
        TorchRequirement.Ensure();
        foreach (var w in new[] { W, T.Of([1], 0.1) })
        {
            var r = TorchParity.Compare(Prelu.Of(), new(("input", X), ("weight", w)), Dy);
            Assert.That(r.Status, Is.EqualTo(ParityStatus.Agree), r.ToString());
        }
    }

    [Test]
    public void A_weight_of_the_wrong_size_is_refused_naming_the_rule()
    {
        var ex = Assert.Throws<ParameterException>(() => Prelu.Of().Forward(new(("input", X), ("weight", T.Of([3], 1, 2, 3)))));
        Assert.That(ex!.Message, Does.Contain("weight").And.Contain("one per channel"));
        Assert.Throws<ParameterException>(() => Prelu.Of().Forward(new(("input", X), ("weight", T.Of([1, 2], 1, 2)))));
    }

    [TestCase(1.0, "right")]
    [TestCase(0.625, "mean")]
    public void Another_slope_between_the_weight_and_1_at_zero_is_valid_and_named(double slope0, string choice)
    {
        // element 1 is in channel 0 (weight 0.25), element 10 in channel 1 (weight -0.5); the mean is per element.
        var j = Judge(dx => { dx[1] = 2 * slope0; dx[10] = -4 * (choice == "right" ? 1 : 0.25); });
        Assert.That(j.Allowed, Is.True, j.Problem);
        Assert.That(j.Conventions.Single().Choice, Is.EqualTo(choice));
    }

    [Test]
    public void A_slope_outside_the_weight_and_1_at_zero_fails()
    {
        var j = Judge(dx => dx[1] = 2 * 1.5);
        Assert.That(j.Allowed, Is.False);
        Assert.That(j.Problem, Does.Contain("lies outside [0.25, 1]·dy"));
    }

    [Test]
    public void A_wrong_weight_gradient_is_no_convention_matter()
    {
        var op = Prelu.Of();
        var expected = OpResult.Of(op, In, Dy);
        var dw = expected.Grads["weight"].ToArray();
        dw[0] += 1;
        var answer = new OpResult(expected.Output, new(("input", expected.Grads["input"]), ("weight", Tensor.Wrap(W.Shape, dw))));
        var compare = new AnswerComparer("float64", DtypeTolerance.Allowances(op, In, Dy, expected, "float64"));
        Assert.That(op.Judge(In, Dy, answer, compare, new Dictionary<string, string>()), Is.EqualTo(ConventionJudgement.NotAConventionMatter));
    }

    private static ConventionJudgement Judge(Action<double[]> change)
    {
        var op = Prelu.Of();
        var expected = OpResult.Of(op, In, Dy);
        var dx = expected.Grads["input"].ToArray();
        change(dx);
        var answer = new OpResult(expected.Output, new(("input", Tensor.Wrap(X.Shape, dx)), ("weight", expected.Grads["weight"])));
        var compare = new AnswerComparer("float64", DtypeTolerance.Allowances(op, In, Dy, expected, "float64"));
        return op.Judge(In, Dy, answer, compare, new Dictionary<string, string>());
    }
}
