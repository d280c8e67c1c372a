using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>
/// l1_loss, smooth_l1_loss and huber_loss: values worked by hand in both regions, finite differences, and the valid set
/// at l1's kink, where dx may take any slope in [-1, 1] but dt must be -dx.
/// </summary>
public class RegressionLossTests
{
    // d = x - t = (-3, -0.25, 0, 2).
    private static NamedTensors In => new(("input", T.Of([4], -1, 0.75, 2, 5)), ("target", T.Of([4], 2, 1, 2, 3)));

    [Test]
    public void Smooth_l1_is_quadratic_over_beta_inside_and_l1_less_half_beta_outside()
    {
        var y = RegressionLoss.SmoothL1(0.5, Reduction.None).Forward(In);
        Assert.That(y.ToArray(), Is.EqualTo(new[] { 2.75, 0.0625, 0, 1.75 })); // 3 - 0.25; 0.5·0.0625/0.5; 0; 2 - 0.25
        var g = RegressionLoss.SmoothL1(0.5, Reduction.None).Backward(In, T.Of([4], 1, 1, 1, 1));
        Assert.That(g["input"].ToArray(), Is.EqualTo(new[] { -1, -0.5, 0, 1 }));
        Assert.That(g["target"].ToArray(), Is.EqualTo(new[] { 1, 0.5, -0.0, -1 }));
    }

    [Test]
    public void Huber_is_smooth_l1_times_delta()
    {
        var huber = RegressionLoss.Huber(0.5, Reduction.None).Forward(In);
        Assert.That(huber.ToArray(), Is.EqualTo(new[] { 1.375, 0.03125, 0, 0.875 })); // 0.5·(3 - 0.25); 0.5·0.0625; 0; 0.5·(2 - 0.25)
        Assert.That(RegressionLoss.Huber(0.5, Reduction.None).Backward(In, T.Of([4], 1, 1, 1, 1))["input"].ToArray(), Is.EqualTo(new[] { -0.5, -0.25, 0, 0.5 }));
    }

    [Test]
    public void L1_s_mean_slope_is_sign_over_the_count_and_0_where_input_equals_target()
    {
        var g = RegressionLoss.L1().Backward(In, T.Of([], 1));
        Assert.That(g["input"].ToArray(), Is.EqualTo(new[] { -0.25, -0.25, 0, 0.25 }));
        Assert.That(RegressionLoss.L1(Reduction.Sum).Forward(In).ToArray()[0], Is.EqualTo(5.25));
    }

    public static IEnumerable<TestCaseData> Configurations()
    {
        yield return new TestCaseData(RegressionLoss.L1(Reduction.Sum)).SetName("l1_loss");
        yield return new TestCaseData(RegressionLoss.SmoothL1(0.75)).SetName("smooth_l1_loss beta 0.75");
        yield return new TestCaseData(RegressionLoss.Huber(1.5, Reduction.None)).SetName("huber_loss delta 1.5");
    }

    [TestCaseSource(nameof(Configurations))]
    public void Both_gradients_agree_with_finite_differences(RegressionLoss op)
    {
        var inputs = new NamedTensors(("input", Samples.Scaled(Shape.Of(2, 5), 1, 2)), ("target", Samples.Scaled(Shape.Of(2, 5), 2, 2)));
        var result = GradientChecker.Check(op, inputs);
        Assert.That(result.Passed, Is.True, result.ToString());
    }

    [Test]
    public void Another_slope_at_the_kink_with_the_target_s_mirrored_is_valid_and_named()
    {
        var j = Judge(RegressionLoss.L1(Reduction.Sum), dxAtKink: 1, dtAtKink: -1);
        Assert.That(j.Allowed, Is.True);
        Assert.That(j.Conventions.Single().Text, Is.EqualTo("l1_loss where input = target: the right slope, at 1 element(s) (PyTorch: mean)"));
    }

    [Test]
    public void The_same_sign_for_dx_and_dt_at_the_kink_is_outside_the_set_and_named_as_pytorch_s_smooth_l1()
    {
        var op = RegressionLoss.SmoothL1(0, Reduction.Sum);
        Assert.That(Judge(op, dxAtKink: 1, dtAtKink: 1), Is.EqualTo(ConventionJudgement.NotAConventionMatter)); // judged as an ordinary answer: it differs
        var bugs = RegressionLoss.SmoothL1Descriptor.Bugs(op, In, T.Of([], 1)).Where(b => b.Message.Contains("the same sign")).ToList();
        var right = bugs.Single(b => b.Message.Contains("right slope")).PredictWhole!.Invoke()!;
        Assert.That(right.Grads["input"].At(2), Is.EqualTo(1));
        Assert.That(right.Grads["target"].At(2), Is.EqualTo(1));
        Assert.That(right.Grads["target"].At(3), Is.EqualTo(-1));
    }

    [Test]
    public void A_negative_beta_or_a_non_positive_delta_is_refused()
    {
        Assert.That(Assert.Throws<ParameterException>(() => RegressionLoss.SmoothL1(-1))!.Message, Does.Contain("beta"));
        Assert.That(Assert.Throws<ParameterException>(() => RegressionLoss.Huber(0))!.Message, Does.Contain("delta").And.Contain("must be positive"));
    }

    private static ConventionJudgement Judge(RegressionLoss op, double dxAtKink, double dtAtKink)
    {
        var dy = T.Of([], 1);
        var expected = OpResult.Of(op, In, dy);
        var (dx, dt) = (expected.Grads["input"].ToArray(), expected.Grads["target"].ToArray());
        (dx[2], dt[2]) = (dxAtKink, dtAtKink);
        var answer = new OpResult(expected.Output, new(("input", Tensor.Wrap(Shape.Of(4), dx)), ("target", Tensor.Wrap(Shape.Of(4), dt))));
        var compare = new AnswerComparer("float64", DtypeTolerance.Allowances(op, In, dy, expected, "float64"));
        return op.Judge(In, dy, answer, compare, new Dictionary<string, string>());
    }
}
