using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>lp_pool: the window's power sum worked by hand, ceil_mode's scaled last window, the zero-window guard, and its rules.</summary>
public class LpPoolTests
{
    [Test]
    public void A_full_window_of_power_two_is_its_euclidean_norm()
    {
        // (3² + 4²)^(1/2) = 5; dx = y·x/S = 5·(3, 4)/25.
        var inputs = NamedTensors.Input(T.Of([1, 1, 2], 3, 4));
        var op = LpPool.Create(1, 2, [2]);
        Assert.That(op.Forward(inputs).ToArray(), Is.EqualTo(new[] { 5.0 }).Within(1e-15));
        Assert.That(op.Backward(inputs, T.Of([1, 1, 1], 1))["input"].ToArray(), Is.EqualTo(new[] { 0.6, 0.8 }).Within(1e-15));
    }

    [Test]
    public void Ceil_modes_partial_window_is_scaled_by_kernel_over_in_bounds_cells_as_pytorch_computes_it()
    {
        // p = 1, kernel 2, stride 2 over [1, 2, 2]: windows [1, 2] and [2]. PyTorch: avg_pool(x)·2, so the lone 2 gives 4, not 2.
        var inputs = NamedTensors.Input(T.Of([1, 1, 3], 1, 2, 2));
        var op = LpPool.Create(1, 1, [2], [2], ceilMode: true);
        Assert.That(op.Forward(inputs).ToArray(), Is.EqualTo(new[] { 3.0, 4 }));
        Assert.That(op.Backward(inputs, T.Of([1, 1, 2], 1, 1))["input"].ToArray(), Is.EqualTo(new[] { 1.0, 1, 2 }));
        var documented = LpPool.Descriptor.Bugs(op, inputs, T.Of([1, 1, 2], 1, 1)).Single(b => b.Message.Contains("partial window")).PredictWhole!()!;
        Assert.That(documented.Output.ToArray(), Is.EqualTo(new[] { 3.0, 2 }), "the documentation's plain sum");
    }

    [Test]
    public void A_window_that_sums_to_zero_passes_no_gradient()
    {
        var inputs = NamedTensors.Input(T.Of([1, 1, 4], 0, 0, 3, 4));
        var op = LpPool.Create(1, 2, [2]);
        Assert.That(op.Forward(inputs).ToArray(), Is.EqualTo(new[] { 0.0, 5 }).Within(1e-15));
        Assert.That(op.Backward(inputs, T.Of([1, 1, 2], 1, 1))["input"].ToArray(), Is.EqualTo(new[] { 0, 0, 0.6, 0.8 }).Within(1e-15));
    }

    [Test]
    public void It_is_avg_pool_of_the_power_times_the_kernel_to_the_power_one_over_p()
    {
        // torch.nn.functional's definition, composed from the oracle's own average pooling, on overlapping and ceil windows.
        var x = Magnitudes.Abs(Samples.Distinct(Shape.Of(2, 2, 5, 6), 3));
        var op = LpPool.Create(2, 3, [2, 3], [1, 2], ceilMode: true);
        var mean = AvgPool.Create(2, [2, 3], [1, 2], ceilMode: true).Forward(NamedTensors.Input(Tensor.Create(x.Shape, i => Math.Pow(x.At(i), 3))));
        var expected = mean.ToArray().Select(m => Math.Pow(6 * m, 1.0 / 3)).ToArray();
        Assert.That(op.Forward(NamedTensors.Input(x)).ToArray(), Is.EqualTo(expected).Within(1e-13));
    }

    [TestCase(1.0)]
    [TestCase(1.5)]
    [TestCase(2.0)]
    [TestCase(4.0)]
    public void Its_gradient_agrees_with_finite_differences(double p)
    {
        var x = Samples.Distinct(Shape.Of(1, 2, 4, 5), 4);
        var inputs = NamedTensors.Input(p % 2 == 0 ? x : Magnitudes.Abs(x));
        var result = GradientChecker.Check(LpPool.Create(2, p, [2, 3], [1, 2], ceilMode: true), inputs);
        Assert.That(result.Passed, Is.True, result.ToString());
    }

    [Test]
    public void The_power_mean_bug_predicts_the_answer_without_the_kernel_factor()
    {
        var inputs = NamedTensors.Input(T.Of([1, 1, 2], 3, 4));
        var op = LpPool.Create(1, 2, [2]);
        var mean = LpPool.Descriptor.Bugs(op, inputs, T.Of([1, 1, 1], 1)).Single(b => b.Message.Contains("power mean")).PredictWhole!()!;
        Assert.That(mean.Output.At(0), Is.EqualTo(Math.Sqrt(12.5)).Within(1e-15));
    }

    [Test]
    public void A_non_positive_power_and_padding_are_refused_naming_them()
    {
        var p = Assert.Throws<ParameterException>(() => LpPool.Create(2, 0, [2]));
        Assert.That(p!.ParamName, Is.EqualTo("norm_type"));
        var padding = Assert.Throws<ParameterException>(() => OpFactory.Create("lp_pool2d",
            new OpAttributes(("norm_type", 2.0), ("kernel_size", new[] { 2 }), ("padding", new[] { 1 })), ["input"]));
        Assert.That(padding!.Message, Does.Contain("padding"));
    }
}
