using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>mish: values worked independently, and its descriptor (finite differences and libtorch: SmoothActivationTests).</summary>
public class MishTests
{
    [Test]
    public void Mish_is_x_times_tanh_of_softplus()
    {
        // Python's math.log1p and math.tanh: x·tanh(ln(1 + eˣ)) at 1, -1, 0.5, 0 and -20.
        Assert.That(T.Out(new Mish(), T.Of([5], 1, -1, 0.5, 0, -20)),
            Is.EqualTo(new[] { 0.8650983882673103, -0.30340146137410895, 0.3752452113048951, 0, -4.122307240628762e-08 }).Within(2e-16));
    }

    [Test]
    public void Mishs_slope_at_zero_is_tanh_of_ln_2()
    {
        // tanh(ln 2) = (2 - 1/2) / (2 + 1/2) = 0.6, by hand; at 1, 1.0490362200997922 (Python), times dy = 2.
        Assert.That(T.Grad(new Mish(), T.Of([2], 0, 1), T.Of([2], 2, 2)), Is.EqualTo(new[] { 1.2, 2 * 1.0490362200997922 }).Within(5e-16));
    }

    [Test]
    public void The_known_bug_is_the_gate_without_its_derivative()
    {
        var x = Samples.Scaled(Shape.Of(1, 2, 4), 5, 3);
        var dy = GradientChecker.RandomGradOutput(x.Shape, 6);
        var bug = Mish.Descriptor.Bugs(new Mish(), NamedTensors.Input(x), dy).Single();
        var predicted = bug.PredictTensor!()!.ToArray();
        // tanh(ln(1 + eˣ)), worked here from the definition, not from the op.
        for (int i = 0; i < x.Count; i++)
            Assert.That(predicted[i], Is.EqualTo(dy.At(i) * Math.Tanh(Math.Log(1 + Math.Exp(x.At(i))))).Within(1e-14));
    }
}
