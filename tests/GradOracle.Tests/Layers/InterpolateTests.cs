using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>interpolate: each mode's taps worked by hand, libtorch's shortcuts and rounding, the scale rule, and the requests PyTorch refuses.</summary>
public class InterpolateTests
{
    private static double[] Run(Interpolate op, Shape shape, params double[] x) => op.Forward(NamedTensors.Input(Tensor.FromArray(shape, x))).ToArray();

    [Test]
    public void Nearest_by_two_repeats_each_element_and_its_backward_sums_the_copies()
    {
        var op = new Interpolate("nearest", scaleFactor: [2]);
        var inputs = NamedTensors.Input(T.Of([1, 1, 3], 1, 2, 3));
        Assert.That(op.Forward(inputs).ToArray(), Is.EqualTo(new double[] { 1, 1, 2, 2, 3, 3 }));
        Assert.That(op.Backward(inputs, T.Of([1, 1, 6], 1, 2, 3, 4, 5, 6))["input"].ToArray(), Is.EqualTo(new double[] { 3, 7, 11 }));
    }

    [Test]
    public void Nearest_takes_floor_of_o_times_in_over_out_and_nearest_exact_the_pixel_centres()
    {
        // 5 -> 3: scale 5/3, floor(0, 1.67, 3.33) = 0, 1, 3. 4 -> 6 (factor 1.5): floor((o + 0.5)/1.5) = 0, 1, 1, 2, 3, 3.
        Assert.That(Run(new Interpolate("nearest", size: [3]), Shape.Of(1, 1, 5), 10, 11, 12, 13, 14), Is.EqualTo(new double[] { 10, 11, 13 }));
        Assert.That(Run(new Interpolate("nearest-exact", scaleFactor: [1.5]), Shape.Of(1, 1, 4), 10, 11, 12, 13), Is.EqualTo(new double[] { 10, 11, 11, 12, 13, 13 }));
        Assert.That(Run(new Interpolate("nearest", scaleFactor: [1.5]), Shape.Of(1, 1, 4), 10, 11, 12, 13), Is.EqualTo(new double[] { 10, 10, 11, 12, 12, 13 }));
    }

    [Test]
    public void Linear_with_aligned_corners_maps_the_end_points_onto_each_other()
    {
        // 3 -> 5 aligned: sources 0, 0.5, 1, 1.5, 2.
        Assert.That(Run(new Interpolate("linear", size: [5], alignCorners: true), Shape.Of(1, 1, 3), 0, 2, 6), Is.EqualTo(new double[] { 0, 1, 2, 4, 6 }));
    }

    [Test]
    public void Linear_without_aligned_corners_uses_half_pixel_centres_clamped_at_the_edges()
    {
        // 2 -> 4: sources 0.5·(o + 0.5) - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (the last index repeated).
        var op = new Interpolate("linear", scaleFactor: [2]);
        var inputs = NamedTensors.Input(T.Of([1, 1, 2], 0, 4));
        Assert.That(op.Forward(inputs).ToArray(), Is.EqualTo(new double[] { 0, 1, 3, 4 }));
        Assert.That(op.Backward(inputs, T.Of([1, 1, 4], 1, 1, 1, 1))["input"].ToArray(), Is.EqualTo(new double[] { 2, 2 }));
        var asymmetric = InterpolateBugs.Of(op, inputs, T.Of([1, 1, 4], 1, 1, 1, 1)).Single(b => b.Message.Contains("half-pixel")).PredictWhole!()!;
        Assert.That(asymmetric.Output.ToArray(), Is.EqualTo(new double[] { 0, 2, 4, 4 }), "sources 0.5·o = 0, 0.5, 1, 1.5");
    }

    [Test]
    public void The_given_scale_factor_sets_the_coordinates_unless_recomputed_from_the_sizes()
    {
        // 5 -> floor(7.5) = 7. The last output: 6.5/1.5 - 0.5 = 3.83 reads x3 and x4; with 5/7, 6.5·5/7 - 0.5 = 4.14 reads x4 alone.
        var x = new double[] { 0, 6, 12, 18, 24 };
        var given = Run(new Interpolate("linear", scaleFactor: [1.5]), Shape.Of(1, 1, 5), x);
        var recomputed = Run(new Interpolate("linear", scaleFactor: [1.5], recomputeScaleFactor: true), Shape.Of(1, 1, 5), x);
        Assert.That(given, Has.Length.EqualTo(7));
        Assert.That(given[6], Is.EqualTo(6 * (6.5 / 1.5 - 0.5)).Within(1e-12));
        Assert.That(recomputed[6], Is.EqualTo(24));
    }

    [Test]
    public void An_output_as_large_as_the_input_is_a_copy_whatever_the_factor()
    {
        // 3 · 1.2 = 3.6 -> 3: libtorch copies rather than resampling at 1/1.2.
        Assert.That(Run(new Interpolate("linear", scaleFactor: [1.2]), Shape.Of(1, 1, 3), 1, 5, 2), Is.EqualTo(new double[] { 1, 5, 2 }));
    }

    [Test]
    public void Bicubic_uses_keys_a_of_minus_three_quarters_with_its_taps_clamped_into_the_input()
    {
        // 4 -> 7 aligned along the width: output 1 reads source 0.5, taps -1, 0, 1, 2 clamped to 0, 0, 1, 2 with weights
        // -0.09375, 0.59375, 0.59375, -0.09375; output 2 reads source 1 exactly.
        var y = Run(new Interpolate("bicubic", size: [1, 7], alignCorners: true), Shape.Of(1, 1, 1, 4), 1, 2, 3, 4);
        Assert.That(y[1], Is.EqualTo(0.5 * 1 + 0.59375 * 2 - 0.09375 * 3).Within(1e-15));
        Assert.That(y[2], Is.EqualTo(2));
    }

    [TestCase("nearest", 2)]
    [TestCase("nearest-exact", 2)]
    [TestCase("bilinear", 2)]
    [TestCase("bicubic", 2)]
    [TestCase("linear", 1)]
    [TestCase("trilinear", 3)]
    public void Its_gradient_agrees_with_finite_differences_and_keeps_the_sum_of_dy(string mode, int rank)
    {
        var shape = Shape.Of([1, 2, .. Enumerable.Repeat(3, rank)]);
        var inputs = NamedTensors.Input(Samples.Distinct(shape, 5));
        foreach (var op in new[] { new Interpolate(mode, scaleFactor: [1.5]), new Interpolate(mode, size: [.. Enumerable.Repeat(4, rank)], alignCorners: mode.Contains("linear") || mode == "bicubic" ? true : null) })
        {
            var result = GradientChecker.Check(op, inputs);
            Assert.That(result.Passed, Is.True, result.ToString());
            var dy = Samples.Distinct(op.Forward(inputs).Shape, 6);
            Assert.That(op.CheckInvariants(inputs, dy, op.Backward(inputs, dy)).Holds, Is.True);
        }
    }

    [Test]
    public void Requests_pytorch_refuses_are_refused_naming_the_rule()
    {
        Assert.That(Assert.Throws<ParameterException>(() => new Interpolate("bilinear", size: [2], scaleFactor: [2]))!.Message, Does.Contain("exactly one of size and scale_factor"));
        Assert.That(Assert.Throws<ParameterException>(() => new Interpolate())!.Message, Does.Contain("exactly one of size and scale_factor"));
        Assert.That(Assert.Throws<ParameterException>(() => new Interpolate("nearest", size: [2], alignCorners: false))!.ParamName, Is.EqualTo("align_corners"));
        Assert.That(Assert.Throws<ParameterException>(() => new Interpolate("linear", size: [2], recomputeScaleFactor: true))!.ParamName, Is.EqualTo("recompute_scale_factor"));
        Assert.That(Assert.Throws<ParameterException>(() => new Interpolate("area", size: [2]))!.ParamName, Is.EqualTo("mode"));
        var rank = Assert.Throws<ParameterException>(() => Run(new Interpolate("bilinear", size: [2]), Shape.Of(1, 1, 3), 1, 2, 3));
        Assert.That(rank!.Message, Does.Contain("bilinear needs 4-d input"));
        var tiny = Assert.Throws<ParameterException>(() => Run(new Interpolate("nearest", scaleFactor: [0.25]), Shape.Of(1, 1, 3), 1, 2, 3));
        Assert.That(tiny!.Message, Does.Contain("floor(3·0.25) = 0"));
    }
}
