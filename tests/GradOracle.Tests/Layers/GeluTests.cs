using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>gelu: values worked independently, and its descriptor (finite differences and libtorch: SmoothActivationTests).</summary>
public class GeluTests
{
    [Test]
    public void Exact_gelu_is_x_times_the_normal_cdf()
    {
        // Python's math.erf: 0.5·x·(1 + erf(x/√2)) at 1, -1, 0.5, and 0.
        Assert.That(T.Out(new Gelu(), T.Of([4], 1, -1, 0.5, 0)),
            Is.EqualTo(new[] { 0.8413447460685429, -0.15865525393145707, 0.34573123063700656, 0 }).Within(2e-16));
    }

    [Test]
    public void Tanh_gelu_is_the_tanh_approximation()
    {
        // Python's math.tanh: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) at 1, -1, 0.5.
        Assert.That(T.Out(new Gelu(tanh: true), T.Of([3], 1, -1, 0.5)),
            Is.EqualTo(new[] { 0.8411919906082768, -0.15880800939172324, 0.34571400982514394 }).Within(2e-16));
    }

    [Test]
    public void Gelus_slope_at_zero_is_one_half_in_both_forms()
    {
        // Φ(0) + 0·φ(0) = 1/2; (1 + tanh 0)/2 + 0 = 1/2.
        Assert.That(T.Grad(new Gelu(), T.Of([1], 0), T.Of([1], 2)), Is.EqualTo(new[] { 1.0 }));
        Assert.That(T.Grad(new Gelu(tanh: true), T.Of([1], 0), T.Of([1], 2)), Is.EqualTo(new[] { 1.0 }));
    }

    [Test]
    public void The_factory_builds_gelu_and_refuses_an_approximation_it_does_not_know()
    {
        Assert.That(((Gelu)OpFactory.Create("gelu", OpAttributes.None, ["input"])).Tanh, Is.False);
        Assert.That(((Gelu)OpFactory.Create("gelu", new OpAttributes(("approximate", "tanh")), ["input"])).Tanh, Is.True);
        var e = Assert.Throws<ParameterException>(() => OpFactory.Create("gelu", new OpAttributes(("approximate", "erf")), ["input"]));
        Assert.That(e!.ParamName, Is.EqualTo("approximate"));
        Assert.That(e.Message, Does.Contain("'none' or 'tanh'"));
        var unknown = Assert.Throws<ParameterException>(() => OpFactory.Create("gelu", new OpAttributes(("negative_slope", 0.1)), ["input"]));
        Assert.That(unknown!.Message, Does.Contain("is not an attribute of gelu (it has approximate)"));
    }
}
