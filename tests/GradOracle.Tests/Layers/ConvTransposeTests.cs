using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>
/// conv_transpose: values worked by hand, convolution's adjoint over random geometries (each gradient against
/// <see cref="Convolution"/>), finite differences, and the rules PyTorch refuses.
/// </summary>
public class ConvTransposeTests
{
    // x = [1, 2], w = [1, 10, 100], stride 2: x0 scatters to positions 0-2, x1 to 2-4.
    private static NamedTensors Hand => new(("input", T.Of([1, 1, 2], 1, 2)), ("weight", T.Of([1, 1, 3], 1, 10, 100)));

    [Test]
    public void Each_input_scatters_its_products_one_stride_apart_and_overlaps_add()
    {
        var y = ConvTranspose.Create(1, stride: [2], bias: false).Forward(Hand);
        Assert.That(y.Shape, Is.EqualTo(Shape.Of(1, 1, 5))); // (2 - 1)·2 + (3 - 1) + 1
        Assert.That(y.ToArray(), Is.EqualTo(new double[] { 1, 10, 102, 20, 200 }));
    }

    [Test]
    public void Padding_crops_both_sides_and_output_padding_adds_the_rows_at_the_end()
    {
        Assert.That(ConvTranspose.Create(1, stride: [2], padding: [1], bias: false).Forward(Hand).ToArray(), Is.EqualTo(new double[] { 10, 102, 20 }));
        Assert.That(ConvTranspose.Create(1, stride: [2], padding: [1], outputPadding: [1], bias: false).Forward(Hand).ToArray(),
            Is.EqualTo(new double[] { 10, 102, 20, 200 }));
    }

    [Test]
    public void The_input_gradient_correlates_dy_with_the_unflipped_kernel_and_the_bias_sums_dy()
    {
        var op = ConvTranspose.Create(1, stride: [2]);
        var inputs = Hand.With("bias", T.Of([1], 0.5));
        var g = op.Backward(inputs, T.Of([1, 1, 5], 1, 2, 3, 4, 5));
        Assert.That(g["input"].ToArray(), Is.EqualTo(new double[] { 1 + 20 + 300, 3 + 40 + 500 }));
        Assert.That(g["weight"].ToArray(), Is.EqualTo(new double[] { 1 + 2 * 3, 2 + 2 * 4, 3 + 2 * 5 }));
        Assert.That(g["bias"].ToArray(), Is.EqualTo(new double[] { 15 }));
    }

    [Test]
    public void It_is_the_adjoint_of_convolution_and_its_gradients_are_convolution_s_over_random_geometries()
    {
        var rng = new Random(18);
        for (int trial = 0; trial < 150; trial++)
        {
            int rank = rng.Next(1, 4), groups = rng.Next(1, 3), cin = groups * rng.Next(1, 3), cout = groups * rng.Next(1, 3), batch = rng.Next(1, 3);
            int[] Draw(int lo, int hi) => Enumerable.Range(0, rank).Select(_ => rng.Next(lo, hi + 1)).ToArray();
            var (size, k, s, d) = (Draw(1, rank == 3 ? 3 : 5), Draw(1, 3), Draw(1, 3), Draw(1, 2));
            var p = k.Select((kk, i) => rng.Next(0, d[i] * (kk - 1) / 2 + 1)).ToArray();
            var op = s.Select((ss, i) => rng.Next(0, Math.Max(ss, d[i]))).ToArray();
            var t = ConvTranspose.Create(rank, s, p, op, d, groups, bias: false);
            var conv = Convolution.Create(rank, s, ConvPadding.Of(p), d, groups, bias: false);
            var x = Samples.Distinct(Shape.Of([batch, cin, .. size]), trial);
            var w = Samples.Scaled(Shape.Of([cin, cout / groups, .. k]), trial + 1000, 0.5);
            var inputs = new NamedTensors(("input", x), ("weight", w));
            var y = t.Forward(inputs);
            var z = Samples.Distinct(y.Shape, trial + 2000); // an element of conv_transpose's output space: conv's input space
            var cz = conv.Forward(new NamedTensors(("input", z), ("weight", w)));
            // conv's output is longer than x where output_padding ≥ stride: the extra positions reach no transposed output.
            var xPadded = Tensor.Create(cz.Shape, i => Within(cz.Shape, i, x.Shape) is { } j ? x.At(j) : 0);
            var where = $"trial {trial}: {t.AttributeText}, x {x.Shape}, w {w.Shape}";
            Assert.That(Dot(cz, xPadded), Is.EqualTo(Dot(z, y)).Within(1e-13 * Dot(Magnitudes.Abs(z), t.MagnitudesOf(inputs, z).Output)), "⟨conv(z, w), x⟩ = ⟨z, conv_transpose(x, w)⟩, " + where);

            var grads = t.Backward(inputs, z);
            var sums = t.MagnitudesOf(inputs, z).Grads; // what each gradient sums, in |terms|: both orders' rounding is within a few ulps of it
            var convDx = Tensor.Create(x.Shape, i => cz.At(Within(x.Shape, i, cz.Shape)!.Value));
            AssertClose(grads["input"], convDx, sums["input"], "grad_input = conv(grad_output, w), " + where);
            var convDw = conv.Backward(new NamedTensors(("input", z), ("weight", w)), xPadded)["weight"];
            AssertClose(grads["weight"], convDw, sums["weight"], "grad_weight = conv's weight gradient with the roles of input and grad_output swapped, " + where);
        }
    }

    [TestCase(1, new[] { 2 }, new[] { 1 }, new[] { 1 }, new[] { 1 }, 2)]
    [TestCase(2, new[] { 2, 1 }, new[] { 0, 1 }, new[] { 1, 0 }, new[] { 1, 2 }, 1)]
    [TestCase(3, new[] { 1, 2, 1 }, new[] { 0, 0, 1 }, new[] { 0, 1, 1 }, new[] { 2, 1, 2 }, 1)]
    public void Every_gradient_agrees_with_finite_differences(int rank, int[] stride, int[] padding, int[] outputPadding, int[] dilation, int groups)
    {
        var op = ConvTranspose.Create(rank, stride, padding, outputPadding, dilation, groups);
        var inputs = new NamedTensors(
            ("input", Samples.Distinct(Shape.Of([2, 2 * groups, .. Enumerable.Repeat(rank == 3 ? 2 : 3, rank)]), 1)),
            ("weight", Samples.Scaled(Shape.Of([2 * groups, 2, .. Enumerable.Repeat(2, rank)]), 2, 0.5)),
            ("bias", Samples.Scaled(Shape.Of(2 * groups), 3, 0.5)));
        var result = GradientChecker.Check(op, inputs);
        Assert.That(result.Passed, Is.True, result.ToString());
    }

    [Test]
    public void An_output_padding_not_smaller_than_stride_or_dilation_is_refused_naming_both()
    {
        var ex = Assert.Throws<ParameterException>(() => ConvTranspose.Create(2, stride: [2], outputPadding: [0, 2]));
        Assert.That(ex!.Message, Does.Contain("output_padding").And.Contain("dimension 1: output_padding 2, stride 2, dilation 1"));
        Assert.DoesNotThrow(() => ConvTranspose.Create(1, stride: [1], outputPadding: [2], dilation: [3]));
    }

    [Test]
    public void Shapes_that_break_its_rules_are_refused_naming_the_tensor()
    {
        var op = ConvTranspose.Create(1, groups: 2);
        NamedTensors With(Shape x, Shape w, Shape b) => new(("input", Samples.Distinct(x, 1)), ("weight", Samples.Distinct(w, 2)), ("bias", Samples.Distinct(b, 3)));
        Assert.That(Assert.Throws<ParameterException>(() => op.Forward(With(Shape.Of(1, 4, 3), Shape.Of(2, 1, 2), Shape.Of(2))))!.Message,
            Does.Contain("weight.shape").And.Contain("dimension 0 must be C_in = 4"));
        Assert.That(Assert.Throws<ParameterException>(() => op.Forward(With(Shape.Of(1, 3, 3), Shape.Of(3, 1, 2), Shape.Of(2))))!.Message,
            Does.Contain("groups").And.Contain("must divide the input channels C_in = 3"));
        Assert.That(Assert.Throws<ParameterException>(() => op.Forward(With(Shape.Of(1, 4, 3), Shape.Of(4, 3, 2), Shape.Of(3))))!.Message,
            Does.Contain("bias.shape").And.Contain("(6)"));
        var cropped = ConvTranspose.Create(1, padding: [2]);
        Assert.That(Assert.Throws<ParameterException>(() => cropped.Forward(With(Shape.Of(1, 1, 2), Shape.Of(1, 1, 2), Shape.Of(1))))!.Message,
            Does.Contain("padding").And.Contain("(2 - 1)·1 - 2·2 + 1·(2 - 1) + 0 + 1 = -1"));
    }

    [Test]
    public void Its_output_shape_rule_is_pytorch_s_formula_filled_in()
    {
        var rule = ConvTranspose.Create(1, stride: [2], padding: [1], outputPadding: [1]).OutputShapeRule(Hand.With("bias", T.Of([1], 0)));
        Assert.That(rule, Does.Contain("dimension 2: (2 - 1)·2 - 2·1 + 1·(3 - 1) + 1 + 1 = 4"));
    }

    private static double Dot(Tensor a, Tensor b) => Enumerable.Range(0, a.Count).Sum(i => a.At(i) * b.At(i));

    /// <summary>The flat index in <paramref name="to"/> of element <paramref name="i"/> of <paramref name="from"/>, or null when it lies outside.</summary>
    private static int? Within(Shape from, int i, Shape to)
    {
        var c = new int[from.Rank];
        for (int a = from.Rank - 1; a >= 0; a--) { c[a] = i % from[a]; i /= from[a]; }
        for (int a = 0; a < c.Length; a++) if (c[a] >= to[a]) return null;
        return to.FlatIndex(c);
    }

    private static void AssertClose(Tensor actual, Tensor expected, Tensor magnitude, string what)
    {
        Assert.That(actual.Shape, Is.EqualTo(expected.Shape), what);
        for (int i = 0; i < actual.Count; i++)
            Assert.That(actual.At(i), Is.EqualTo(expected.At(i)).Within(1e-13 * magnitude.At(i)), $"{what}, element {i}");
    }
}
