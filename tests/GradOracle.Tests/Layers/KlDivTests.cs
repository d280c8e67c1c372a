using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>kl_div: batchmean against mean worked by hand, log_target, finite differences, and the reduction's rule.</summary>
public class KlDivTests
{
    // One sample, q = (1/2, 1/4) as log-probabilities, p = (1/2, 1/2): KL(p‖q) = 1/2·ln 1 + 1/2·ln 2.
    private static NamedTensors In => new(("input", T.Of([1, 2], Math.Log(0.5), Math.Log(0.25))), ("target", T.Of([1, 2], 0.5, 0.5)));

    [Test]
    public void Batchmean_divides_the_sum_by_the_batch_size_and_mean_by_the_element_count()
    {
        Assert.That(new KlDiv(batchMean: true).Forward(In).ToArray()[0], Is.EqualTo(0.5 * Math.Log(2)).Within(1e-15));
        Assert.That(new KlDiv().Forward(In).ToArray()[0], Is.EqualTo(0.25 * Math.Log(2)).Within(1e-15));
    }

    [Test]
    public void The_gradients_are_minus_the_target_and_log_t_plus_1_minus_x()
    {
        var g = new KlDiv(batchMean: true).Backward(In, T.Of([], 1));
        Assert.That(g["input"].ToArray(), Is.EqualTo(new[] { -0.5, -0.5 }));
        Assert.That(g["target"].ToArray(), Is.EqualTo(new[] { 1, 1 + Math.Log(2) }).Within(1e-15));
    }

    [Test]
    public void A_log_target_gives_the_same_divergence_as_its_probabilities()
    {
        var logT = In.With("target", T.Of([1, 2], Math.Log(0.5), Math.Log(0.5)));
        Assert.That(new KlDiv(Reduction.Sum, logTarget: true).Forward(logT).ToArray()[0], Is.EqualTo(new KlDiv(Reduction.Sum).Forward(In).ToArray()[0]).Within(1e-15));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Both_gradients_agree_with_finite_differences(bool logTarget)
    {
        var shape = Shape.Of(2, 3);
        var x = Tensor.Create(shape, i => Math.Log(0.1 + 0.12 * i));
        var t = logTarget ? Tensor.Create(shape, i => Math.Log(0.7 - 0.1 * i)) : Tensor.Create(shape, i => 0.7 - 0.1 * i);
        var result = GradientChecker.Check(new KlDiv(Reduction.Mean, logTarget, batchMean: true), new NamedTensors(("input", x), ("target", t)));
        Assert.That(result.Passed, Is.True, result.ToString());
    }

    [Test]
    public void Batchmean_with_another_reduction_is_refused() =>
        Assert.That(Assert.Throws<ParameterException>(() => new KlDiv(Reduction.Sum, batchMean: true))!.Message, Does.Contain("reduction"));
}
