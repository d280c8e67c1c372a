using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>silu: values worked independently, and its descriptor (finite differences and libtorch: SmoothActivationTests).</summary>
public class SiluTests
{
    [Test]
    public void Silu_is_x_times_the_logistic_sigmoid()
    {
        // Python's math.exp: x / (1 + e^-x) at 1, -1, 0.5, 0 and -20 (where σ(-20) ≈ 2.06e-9).
        Assert.That(T.Out(new Silu(), T.Of([5], 1, -1, 0.5, 0, -20)),
            Is.EqualTo(new[] { 0.7310585786300049, -0.2689414213699951, 0.3112296656009273, 0, -4.122307236380407e-08 }).Within(1e-16));
    }

    [Test]
    public void Silus_slope_is_one_half_at_zero_and_follows_sigma_plus_x_sigma_sigma()
    {
        // σ(0) + 0 = 1/2; at 1: σ(1) + σ(1)·σ(-1) = 0.9276705118714867 (Python's math.exp), times dy = 2.
        Assert.That(T.Grad(new Silu(), T.Of([2], 0, 1), T.Of([2], 2, 2)), Is.EqualTo(new[] { 1.0, 2 * 0.9276705118714867 }).Within(4e-16));
    }

    [Test]
    public void The_factory_builds_silu_and_refuses_an_attribute_it_does_not_have()
    {
        Assert.That(OpFactory.Create("silu", OpAttributes.None, ["input"]), Is.TypeOf<Silu>());
        var e = Assert.Throws<ParameterException>(() => OpFactory.Create("silu", new OpAttributes(("inplace", true)), ["input"]));
        Assert.That(e!.Message, Does.Contain("is not an attribute of silu"));
    }

    [Test]
    public void Both_known_bugs_are_named_from_the_answers_they_give()
    {
        var x = Samples.Scaled(Shape.Of(1, 2, 4), 5, 3);
        var dy = GradientChecker.RandomGradOutput(x.Shape, 6);
        var inputs = NamedTensors.Input(x);
        var bugs = Silu.Descriptor.Bugs(new Silu(), inputs, dy).ToList();
        Assert.That(bugs, Has.Count.EqualTo(2));
        // σ(x) alone, and σ(x)·σ(-x), worked here from the definition, not from the op.
        static double S(double v) => 1 / (1 + Math.Exp(-v));
        Assert.That(bugs.Select(b => b.Tensor), Is.All.EqualTo("grads.input"));
        var gate = bugs[0].PredictTensor!()!.ToArray();
        var sigmoid = bugs[1].PredictTensor!()!.ToArray();
        for (int i = 0; i < x.Count; i++)
        {
            Assert.That(gate[i], Is.EqualTo(dy.At(i) * S(x.At(i))).Within(1e-15));
            Assert.That(sigmoid[i], Is.EqualTo(dy.At(i) * S(x.At(i)) * S(-x.At(i))).Within(1e-15));
        }
    }
}
