using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>Stochastic pooling, Caffe's rule, worked by hand.</summary>
public class StochasticPoolTests
{
    private static NamedTensors Inputs(Tensor x, params double[] uniforms) =>
        NamedTensors.Input(x).With("uniforms", T.Of([1, 1, uniforms.Length], uniforms));

    // Window [1, 2, 3, 4], S = 10, running sums 1, 3, 6, 10: the first reaching u*S is selected.
    [TestCase(0.05, 0)]  // 0.5
    [TestCase(0.1, 0)]   // 1: reached exactly by the first running sum
    [TestCase(0.15, 1)]  // 1.5
    [TestCase(0.5, 2)]   // 5
    [TestCase(0.65, 3)]  // 6.5
    [TestCase(1.0, 3)]   // 10
    public void Training_selects_the_first_position_whose_running_sum_reaches_u_times_the_sum(double u, long selected)
    {
        var op = StochasticPool.Create(1, [4]);
        var r = op.Sample(T.Of([1, 1, 4], 1, 2, 3, 4), T.Of([1, 1, 1], u));
        Assert.That(r.Indices.Data, Is.EqualTo(new[] { selected }));
        Assert.That(r.Output.At(0), Is.EqualTo(selected + 1.0));
    }

    [Test]
    public void A_window_summing_to_zero_selects_its_first_element()
    {
        var op = StochasticPool.Create(1, [2]);
        Assert.That(op.Sample(T.Of([1, 1, 2], 0, 0), T.Of([1, 1, 1], 0.7)).Indices.Data, Is.EqualTo(new long[] { 0 }));
    }

    [Test]
    public void Backward_routes_to_the_selected_input_and_accumulates_across_overlapping_windows()
    {
        // k=2, s=1 over [1, 1, 1]: window 0 with u=1 reaches 2 at position 1; window 1 with u=0.5 reaches 1
        // at its first cell, position 1 again. dy = [1, 2] -> position 1 receives 3.
        var op = StochasticPool.Create(1, [2], [1]);
        var inputs = Inputs(T.Of([1, 1, 3], 1, 1, 1), 1.0, 0.5);
        Assert.That(op.Backward(inputs, T.Of([1, 1, 2], 1, 2))["input"].ToArray(), Is.EqualTo(new[] { 0.0, 3, 0 }));
    }

    [Test]
    public void Evaluation_is_the_probability_weighted_average_with_its_derivative()
    {
        // [1, 2, 3, 4]: sum(a^2)/sum(a) = 30/10 = 3; d/da_j = 2a_j/10 - 30/100 = [-0.1, 0.1, 0.3, 0.5].
        var op = StochasticPool.Create(1, [4], training: false);
        var x = T.Of([1, 1, 4], 1, 2, 3, 4);
        Assert.That(T.Out(op, x), Is.EqualTo(new[] { 3.0 }));
        Assert.That(T.Grad(op, x, T.Of([1, 1, 1], 1)), Is.EqualTo(new[] { -0.1, 0.1, 0.3, 0.5 }).Within(1e-15));
    }

    [Test]
    public void Evaluation_of_a_zero_window_is_zero_with_zero_gradient()
    {
        var op = StochasticPool.Create(1, [2], training: false);
        var x = T.Of([1, 1, 2], 0, 0);
        Assert.That(T.Out(op, x), Is.EqualTo(new[] { 0.0 }));
        Assert.That(T.Grad(op, x, T.Of([1, 1, 1], 1)), Is.EqualTo(new[] { 0.0, 0 }));
    }

    [Test]
    public void Negative_inputs_are_refused_naming_the_element()
    {
        var op = StochasticPool.Create(1, [2], training: false);
        var e = Assert.Throws<ParameterException>(() => op.Forward(NamedTensors.Input(T.Of([1, 1, 2], 1, -0.5))));
        Assert.That(e!.ParamName, Is.EqualTo("input[0, 0, 1]"));
        Assert.That(e.Message, Does.Contain("-0.5").And.Contain("non-negative"));
    }

    [TestCase(0.0)]
    [TestCase(1.5)]
    [TestCase(double.NaN)]
    public void Uniforms_outside_zero_to_one_are_refused(double u)
    {
        var op = StochasticPool.Create(1, [2]);
        var e = Assert.Throws<ParameterException>(() => op.Forward(Inputs(T.Of([1, 1, 2], 1, 2), u)));
        Assert.That(e!.ParamName, Is.EqualTo("uniforms[0, 0, 0]"));
        Assert.That(e.Message, Does.Contain("(0, 1]"));
    }

    [Test]
    public void Training_needs_its_uniforms()
    {
        var op = StochasticPool.Create(1, [2]);
        var e = Assert.Throws<ParameterException>(() => op.Forward(NamedTensors.Input(T.Of([1, 1, 2], 1, 2))));
        Assert.That(e!.ParamName, Is.EqualTo("uniforms"));
    }
}
