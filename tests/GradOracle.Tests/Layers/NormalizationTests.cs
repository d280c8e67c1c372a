using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>
/// layer_norm, group_norm and instance_norm: values worked by hand, the blocks each normalises (pinned by the
/// identities between them), finite differences, the invariants, and the rules PyTorch refuses.
/// </summary>
public class NormalizationTests
{
    [Test]
    public void Layer_norm_normalises_with_the_biased_variance_then_scales_and_shifts_per_position()
    {
        // [1, 3, 5, 7]: mean 4, biased variance (9 + 1 + 1 + 9)/4 = 5; with eps 0.76, sqrt(5.76) = 2.4, so x̂ = (-3, -1, 1, 3)/2.4.
        var op = Normalization.Layer([4], eps: 0.76);
        var y = op.Forward(new NamedTensors(("input", T.Of([1, 4], 1, 3, 5, 7)), ("weight", T.Of([4], 2, 1, 1, 2)), ("bias", T.Of([4], 0, 0, 0, 1))));
        Assert.That(y.ToArray(), Is.EqualTo(new[] { -2.5, -1 / 2.4, 1 / 2.4, 3.5 }).Within(1e-15));
    }

    [Test]
    public void The_input_gradient_of_a_linear_dy_along_x_hat_is_scaled_by_the_eps_share()
    {
        // With dy = x̂ and no affine: Σdy = 0 and Σdy·x̂ = Σx̂² = M·var·k², so dx = k·x̂·(1 - var·k²) = k·x̂·eps·k².
        var op = Normalization.Layer([4], eps: 0.76, weight: false, bias: false);
        var inputs = NamedTensors.Input(T.Of([1, 4], 1, 3, 5, 7));
        var xHat = op.Forward(inputs);
        double k = 1 / 2.4;
        var dx = op.Backward(inputs, xHat)["input"];
        Assert.That(dx.ToArray(), Is.EqualTo(xHat.ToArray().Select(h => k * h * 0.76 * k * k).ToArray()).Within(1e-15));
    }

    [Test]
    public void Group_norm_with_a_group_per_channel_is_instance_norm_and_with_one_group_is_layer_norm_over_c_and_space()
    {
        var x = Samples.Distinct(Shape.Of(2, 4, 3), 5);
        var affine = new NamedTensors(("input", x), ("weight", Samples.Positive(Shape.Of(4), 6)), ("bias", Samples.Scaled(Shape.Of(4), 7, 0.5)));
        var dy = Samples.Distinct(x.Shape, 8);
        var perChannel = OpResult.Of(Normalization.Group(4), affine, dy);
        var instance = OpResult.Of(Normalization.Instance(), affine, dy);
        foreach (var key in perChannel.Keys) Assert.That(perChannel[key]!.ToArray(), Is.EqualTo(instance[key]!.ToArray()), key);
        var plain = NamedTensors.Input(x);
        var oneGroup = OpResult.Of(Normalization.Group(1, weight: false, bias: false), plain, dy);
        var layer = OpResult.Of(Normalization.Layer([4, 3], weight: false, bias: false), plain, dy);
        foreach (var key in oneGroup.Keys) Assert.That(oneGroup[key]!.ToArray(), Is.EqualTo(layer[key]!.ToArray()), key);
    }

    [Test]
    public void Group_norm_s_groups_are_normalised_apart()
    {
        // Two groups of two channels: channels 0-1 hold [0, 2], channels 2-3 [10, 30]; each group has mean and variance its own.
        var y = Normalization.Group(2, eps: 1e-300, weight: false, bias: false).Forward(NamedTensors.Input(T.Of([1, 4, 1], 0, 2, 10, 30)));
        Assert.That(y.ToArray(), Is.EqualTo(new double[] { -1, 1, -1, 1 }).Within(1e-15));
    }

    public static IEnumerable<TestCaseData> Configurations()
    {
        yield return new TestCaseData(Normalization.Layer([3, 2]), Shape.Of(2, 2, 3, 2)).SetName("layer_norm over two dimensions");
        yield return new TestCaseData(Normalization.Layer([5], weight: true, bias: false), Shape.Of(3, 5)).SetName("layer_norm with weight only");
        yield return new TestCaseData(Normalization.Group(2), Shape.Of(2, 4, 3)).SetName("group_norm of two groups");
        yield return new TestCaseData(Normalization.Group(3, weight: false, bias: true), Shape.Of(1, 6, 2, 2)).SetName("group_norm with bias only");
        yield return new TestCaseData(Normalization.Instance(eps: 1e-3), Shape.Of(2, 2, 2, 3)).SetName("instance_norm");
    }

    [TestCaseSource(nameof(Configurations))]
    public void Every_gradient_agrees_with_finite_differences_and_the_invariants_hold(Normalization op, Shape shape)
    {
        var parameters = op.Name == "layer_norm" ? Shape.Of(shape.Slice(shape.Rank - ((int[])op.Attributes["normalized_shape"]).Length)) : Shape.Of(shape[1]);
        var list = new List<(string, Tensor)> { ("input", Samples.Distinct(shape, 1)) };
        if (op.HasWeight) list.Add(("weight", Samples.Positive(parameters, 2)));
        if (op.HasBias) list.Add(("bias", Samples.Scaled(parameters, 3, 0.5)));
        var inputs = new NamedTensors([.. list]);
        var result = GradientChecker.Check(op, inputs);
        Assert.That(result.Passed, Is.True, result.ToString());
        var dy = Samples.Distinct(shape, 4);
        var report = op.CheckInvariants(inputs, dy, op.Backward(inputs, dy));
        Assert.That(report.Holds, Is.True, report.ToString());
        Assert.That(report.Checked, Is.SupersetOf(new[] { Normalization.BlockSum, Normalization.BlockOrthogonal }));
    }

    [Test]
    public void A_gradient_that_is_not_centred_breaks_the_block_sum_invariant()
    {
        var op = Normalization.Instance(weight: false, bias: false);
        var inputs = NamedTensors.Input(Samples.Distinct(Shape.Of(1, 2, 4), 1));
        var dy = Samples.Distinct(Shape.Of(1, 2, 4), 2);
        var right = op.Backward(inputs, dy)["input"];
        var report = op.CheckInvariants(inputs, dy, NamedTensors.Input(Tensor.Create(right.Shape, i => right.At(i) + (i == 0 ? 1e-3 : 0))));
        Assert.That(report.Broke(Normalization.BlockSum), Is.True);
    }

    [Test]
    public void Shapes_that_break_their_rules_are_refused_naming_the_attribute_or_tensor()
    {
        var x = NamedTensors.Input(Samples.Distinct(Shape.Of(2, 3, 4), 1));
        Assert.That(Assert.Throws<ParameterException>(() => Normalization.Layer([3], weight: false, bias: false).Forward(x))!.Message,
            Does.Contain("normalized_shape").And.Contain("must equal the input's last 1 dimension(s)"));
        Assert.That(Assert.Throws<ParameterException>(() => Normalization.Group(2, weight: false, bias: false).Forward(x))!.Message,
            Does.Contain("num_groups").And.Contain("must divide the input's channels, 3"));
        Assert.That(Assert.Throws<ParameterException>(() => Normalization.Layer([4]).Forward(x.With("weight", T.Of([3], 1, 1, 1)).With("bias", T.Of([4], 0, 0, 0, 0))))!.Message,
            Does.Contain("weight.shape").And.Contain("must be (4)"));
        Assert.That(Assert.Throws<ParameterException>(() => Normalization.Instance(weight: false, bias: false).Forward(NamedTensors.Input(Samples.Distinct(Shape.Of(2, 3, 1), 1))))!.Message,
            Does.Contain("more than 1 spatial element"));
        Assert.Throws<ParameterException>(() => Normalization.Group(0));
        Assert.Throws<ParameterException>(() => Normalization.Layer([4], eps: 0));
    }
}
