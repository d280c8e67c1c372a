using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>
/// The convolution's fast kernel and its readable reference against the plainest gather loop, bit for bit: per output, the bias, then input channel by
/// input channel, tap by tap in window order, <c>sum = fma(w, x, sum)</c> (one rounding), padding skipped; and the
/// backward against the plainest serial loop, whose per-element summation order its parallel split must keep.
/// </summary>
public class ConvolutionBitIdentityTests
{
    private static IEnumerable<TestCaseData> Seeds() =>
        Enumerable.Range(0, 40).Select(seed => new TestCaseData(seed).SetArgDisplayNames($"seed {seed}"));

    [TestCaseSource(nameof(Seeds))]
    public void Forward_adds_the_products_in_gather_order_bit_for_bit_over_random_geometries_and_special_values(int seed)
    {
        var rng = new Random(seed);
        for (int i = 0; i < 10; i++)
        {
            var c = RandomConfig(rng);
            AssertBitIdentical(c, $"seed {seed} config {i}: {c}");
        }
    }

    [TestCaseSource(nameof(Seeds))]
    public void Backward_keeps_the_serial_loops_summation_order_bit_for_bit_over_random_geometries_and_special_values(int seed)
    {
        var rng = new Random(1000 + seed);
        for (int i = 0; i < 5; i++)
        {
            var c = RandomConfig(rng);
            var op = Convolution.Create(c.Rank, c.Stride, c.Padding, c.Dilation, c.Groups, c.B is not null);
            var inputs = c.B is null ? new NamedTensors(("input", c.X), ("weight", c.W)) : new NamedTensors(("input", c.X), ("weight", c.W), ("bias", c.B));
            var dy = Bits.Sprinkled(GradientChecker.RandomGradOutput(op.Forward(inputs).Shape, seed + i), rng);
            var grads = op.Backward(inputs, dy);
            var (dx, dw, db) = SerialBackward(c, dy);
            var reference = op.ReferenceBackward(inputs, dy);
            foreach (var (name, expected) in new[] { ("input", dx), ("weight", dw), ("bias", db) }.Where(t => t.Item1 != "bias" || c.B is not null))
            {
                Bits.AssertEqual(grads[name].ToArray(), expected, $"seed {seed} config {i}: {c}: {name}");
                Bits.AssertEqual(reference[name].ToArray(), expected, $"seed {seed} config {i}: {c}: {name} (the readable reference)");
            }
        }
    }

    [TestCase(8, 1)]
    [TestCase(12, 1)]
    [TestCase(5, 2)]
    [TestCase(2, 1)]
    [TestCase(1, 4)]
    public void Padding_is_skipped_not_multiplied_as_zero(int outPerGroup, int groups)
    {
        // Inputs -1, weights +inf, bias -0: every product is -inf. A padding cell multiplied as a zero would give
        // inf·0 = NaN; outputs whose window is all padding (kernel height 1, padding 2) keep the bias.
        var y = AssertBitIdentical(Padded(outPerGroup, groups, input: -1, weight: double.PositiveInfinity), "inputs -1, weights +inf, bias -0");
        Assert.That(y.Count(v => v == double.NegativeInfinity), Is.GreaterThan(0));
        Assert.That(y.Count(v => v == 0 && double.IsNegative(v)), Is.GreaterThan(0), "outputs that read only padding keep the -0 bias");
        Assert.That(y.All(v => v == double.NegativeInfinity || (v == 0 && double.IsNegative(v))), Is.True, "no NaN from padding");
    }

    [TestCase(8, 1)]
    [TestCase(12, 1)]
    [TestCase(5, 2)]
    [TestCase(2, 1)]
    [TestCase(1, 4)]
    public void Padding_adds_no_positive_zero_to_a_negative_zero_sum(int outPerGroup, int groups)
    {
        // Inputs -0, weights 1, bias -0: every product and every sum is -0; a padding cell added as +0 would make it +0.
        var y = AssertBitIdentical(Padded(outPerGroup, groups, input: -0.0, weight: 1), "inputs -0, weights 1, bias -0");
        Assert.That(y.All(v => v == 0 && double.IsNegative(v)), Is.True);
    }

    private static Config Padded(int outPerGroup, int groups, double input, double weight) =>
        new(2, [1, 1], [1, 1], [2, 2], groups,
            Tensor.Create(Shape.Of(1, 2 * groups, 5, 11), _ => input),
            Tensor.Create(Shape.Of(outPerGroup * groups, 2, 1, 3), _ => weight),
            Tensor.Create(Shape.Of(outPerGroup * groups), _ => -0.0));

    [TestCase(8, 1, 0)]
    [TestCase(12, 1, 0)]
    [TestCase(5, 2, 0)]
    [TestCase(8, 1, 3)]
    public void A_layer_with_many_channels_matches_the_gather_loop_with_special_values_sprinkled_in(int outPerGroup, int groups, int seed)
    {
        // The shape the checker spends its time on (2, 8, 32, 32) with a 3x3 kernel and padding 1, and wider or grouped variants.
        var rng = new Random(seed);
        var x = Bits.Sprinkled(Samples.Distinct(Shape.Of(2, 8, 32, 32), seed + 1), rng);
        var w = Bits.Sprinkled(Samples.Scaled(Shape.Of(outPerGroup * groups, 8 / groups, 3, 3), seed + 2, 0.3), rng);
        var b = Bits.Sprinkled(Samples.Scaled(Shape.Of(outPerGroup * groups), seed + 3, 0.3), rng);
        var c = new Config(2, [1, 1], [1, 1], [1, 1], groups, x, w, b);
        AssertBitIdentical(c, c.ToString());
    }

    [TestCaseSource(nameof(Seeds))]
    public void Blocked_gradients_of_wide_planes_keep_the_serial_order_with_finite_weights_and_special_values_elsewhere(int seed)
    {
        // Planes wide enough for the register-blocked input gradient (finite weights; it reads a zero margin past the border)
        // and long enough for several chunks of the weight gradient; channel counts that leave partial blocks of each kind.
        var rng = new Random(2000 + seed);
        int groups = rng.Next(1, 3), inPerGroup = new[] { 1, 3, 4, 6, 7, 13 }[rng.Next(6)], outPerGroup = new[] { 1, 5, 8, 9, 17 }[rng.Next(5)];
        var stride = new[] { rng.Next(1, 4), rng.Next(1, 4) };
        if (seed % 2 == 0) stride = [1, 1];
        var dilation = new[] { rng.Next(1, 3), rng.Next(1, 3) };
        var kernel = new[] { new[] { 1, 3, 2, 7 }[rng.Next(4)], new[] { 1, 3, 5, 7 }[rng.Next(4)] };
        var pads = new[] { rng.Next(0, 4), rng.Next(0, 4) };
        var size = new[] { rng.Next(15, 26), rng.Next(9 * stride[1] + 1, 9 * stride[1] + 20) };
        var x = Bits.Sprinkled(Samples.Distinct(Shape.Of(rng.Next(1, 3), groups * inPerGroup, size[0], size[1]), rng.Next()), rng);
        // Finite weights, some of them zeros of either sign; infinities and NaNs in the input and grad_output.
        var w = Samples.With(Samples.With(Samples.Scaled(Shape.Of(groups * outPerGroup, inPerGroup, kernel[0], kernel[1]), rng.Next(), 0.5), -0.0, 0), 0.0, 1);
        var c = new Config(2, stride, dilation, seed % 5 == 1 ? null : pads, groups, x, w, Samples.Scaled(Shape.Of(groups * outPerGroup), rng.Next(), 0.5));
        if (c.Pads is null) c = c with { Stride = [1, 1] };
        var op = Convolution.Create(2, c.Stride, c.Padding, c.Dilation, c.Groups, bias: true);
        var inputs = new NamedTensors(("input", c.X), ("weight", c.W), ("bias", c.B!));
        var dy = Bits.Sprinkled(GradientChecker.RandomGradOutput(op.Forward(inputs).Shape, seed), rng);
        var grads = op.Backward(inputs, dy);
        var (dx, dw, db) = SerialBackward(c, dy);
        foreach (var (name, expected) in new[] { ("input", dx), ("weight", dw), ("bias", db) })
            Bits.AssertEqual(grads[name].ToArray(), expected, $"seed {seed}: {c}: {name}");
    }

    /// <summary>A convolution and its inputs; <paramref name="Pads"/> per spatial dimension, or null for 'same'.</summary>
    private sealed record Config(int Rank, int[] Stride, int[] Dilation, int[]? Pads, int Groups, Tensor X, Tensor W, Tensor? B)
    {
        public ConvPadding Padding => Pads is null ? ConvPadding.Same : ConvPadding.Of(Pads);

        public override string ToString() =>
            $"conv{Rank}d x {X.Shape} w {W.Shape} stride [{string.Join(", ", Stride)}] padding {Padding} dilation [{string.Join(", ", Dilation)}] groups {Groups} bias {(B is null ? "none" : "yes")}";
    }

    private static double[] AssertBitIdentical(Config c, string what)
    {
        var op = Convolution.Create(c.Rank, c.Stride, c.Padding, c.Dilation, c.Groups, c.B is not null);
        var inputs = c.B is null ? new NamedTensors(("input", c.X), ("weight", c.W)) : new NamedTensors(("input", c.X), ("weight", c.W), ("bias", c.B));
        var y = op.Forward(inputs).ToArray();
        var expected = GatherLoop(c);
        Bits.AssertEqual(y, expected, what);
        Bits.AssertEqual(op.ReferenceForward(inputs).ToArray(), expected, $"{what} (the readable reference)");
        return y;
    }

    /// <summary>The reference: index arithmetic from scratch, one output at a time.</summary>
    private static double[] GatherLoop(Config c)
    {
        var y = new double[OutputCount(c)];
        double sum = 0;
        int at = -1;
        foreach (var (output, oc, w, x) in Products(c))
            if (w < 0)
            {
                if (at >= 0) y[at] = sum;
                (at, sum) = (output, c.B is null ? 0 : c.B.At(oc));
            }
            else sum = Math.FusedMultiplyAdd(c.W.At(w), c.X.At(x), sum);
        if (at >= 0) y[at] = sum;
        return y;
    }

    /// <summary>
    /// The backward as one serial loop over outputs in order, each sending g·w to its inputs and g·x to its weights in
    /// gather order, and g to its channel's bias: the order every gradient element's sum must keep, however split.
    /// </summary>
    private static (double[] Dx, double[] Dw, double[] Db) SerialBackward(Config c, Tensor dy)
    {
        var (dx, dw, db) = (new double[c.X.Count], new double[c.W.Count], new double[c.W.Shape[0]]);
        double g = 0;
        foreach (var (output, oc, w, x) in Products(c))
            if (w < 0) db[oc] += g = dy.At(output);
            else
            {
                dx[x] += g * c.W.At(w);
                dw[w] += g * c.X.At(x);
            }
        return (dx, dw, db);
    }

    private static int OutputCount(Config c) => Geometry(c).OutSize.Aggregate(c.X.Shape[0] * c.W.Shape[0], (a, v) => a * v);

    private static (int[] Before, int[] OutSize) Geometry(Config c)
    {
        int rank = c.Rank;
        var before = new int[rank];
        var outSize = new int[rank];
        for (int d = 0; d < rank; d++)
        {
            int span = c.Dilation[d] * (c.W.Shape[2 + d] - 1), after;
            if (c.Pads is null) (before[d], after) = (span / 2, span - span / 2);
            else before[d] = after = c.Pads[d];
            outSize[d] = (c.X.Shape[2 + d] + before[d] + after - span - 1) / c.Stride[d] + 1;
        }
        return (before, outSize);
    }

    /// <summary>
    /// Every output in order, as (output, its channel, -1, -1), followed by its products (output, channel, weight index,
    /// input index): input channel by input channel, tap by tap in window order; padding is no product.
    /// </summary>
    private static IEnumerable<(int Output, int Oc, int W, int X)> Products(Config c)
    {
        int rank = c.Rank, batch = c.X.Shape[0], cin = c.X.Shape[1], cout = c.W.Shape[0];
        int inPerGroup = cin / c.Groups, outPerGroup = cout / c.Groups;
        var size = Enumerable.Range(0, rank).Select(d => c.X.Shape[2 + d]).ToArray();
        var kernel = Enumerable.Range(0, rank).Select(d => c.W.Shape[2 + d]).ToArray();
        var (before, outSize) = Geometry(c);
        int inPlane = size.Aggregate(1, (a, v) => a * v), outPlane = outSize.Aggregate(1, (a, v) => a * v), taps = kernel.Aggregate(1, (a, v) => a * v);
        var oCoord = new int[rank];
        var kCoord = new int[rank];
        for (int n = 0; n < batch; n++)
            for (int oc = 0; oc < cout; oc++)
                for (int o = 0; o < outPlane; o++)
                {
                    int output = (n * cout + oc) * outPlane + o;
                    yield return (output, oc, -1, -1);
                    Unflatten(o, outSize, oCoord);
                    for (int icl = 0; icl < inPerGroup; icl++)
                    {
                        int ic = oc / outPerGroup * inPerGroup + icl;
                        for (int t = 0; t < taps; t++)
                        {
                            Unflatten(t, kernel, kCoord);
                            int flat = 0;
                            bool inside = true;
                            for (int d = 0; d < rank && inside; d++)
                            {
                                int at = oCoord[d] * c.Stride[d] - before[d] + kCoord[d] * c.Dilation[d];
                                inside = at >= 0 && at < size[d];
                                flat = flat * size[d] + at;
                            }
                            if (inside) yield return (output, oc, (oc * inPerGroup + icl) * taps + t, (n * cin + ic) * inPlane + flat);
                        }
                    }
                }
    }

    private static void Unflatten(int flat, int[] sizes, int[] coord)
    {
        for (int d = sizes.Length - 1; d >= 0; d--)
        {
            coord[d] = flat % sizes[d];
            flat /= sizes[d];
        }
    }

    private static Config RandomConfig(Random rng)
    {
        int rank = rng.Next(1, 4);
        int groups = new[] { 1, 2, 4 }[rng.Next(3)];
        // Few output channels per group take the per-run path, more the vector kernel (one tile of 8, or a full and a partial one).
        int inPerGroup = rng.Next(1, 4), outPerGroup = new[] { 1, 2, 3, 4, 5, 8, 9, 12 }[rng.Next(8)];
        bool same = rng.Next(5) == 0;
        var stride = Enumerable.Range(0, rank).Select(_ => same ? 1 : rng.Next(1, 4)).ToArray();
        var dilation = Enumerable.Range(0, rank).Select(_ => rng.Next(1, 3)).ToArray();
        var kernel = Enumerable.Range(0, rank).Select(_ => rng.Next(1, 4)).ToArray();
        var pads = Enumerable.Range(0, rank).Select(_ => rng.Next(0, 3)).ToArray();
        int largest = rank switch { 1 => 40, 2 => 13, _ => 7 };
        // Odd and even sizes, at least as large as the kernel's span minus the padding.
        var size = Enumerable.Range(0, rank)
            .Select(d => Math.Max(rng.Next(1, largest + 1), dilation[d] * (kernel[d] - 1) + 1 - (same ? dilation[d] * (kernel[d] - 1) : 2 * pads[d])))
            .Select(s => Math.Max(s, 1)).ToArray();
        var x = Bits.Sprinkled(Samples.Distinct(Shape.Of([rng.Next(1, 3), groups * inPerGroup, .. size]), rng.Next()), rng);
        var w = Bits.Sprinkled(Samples.Scaled(Shape.Of([groups * outPerGroup, inPerGroup, .. kernel]), rng.Next(), 0.5), rng);
        var b = rng.Next(2) == 0 ? null : Bits.Sprinkled(Samples.Scaled(Shape.Of(groups * outPerGroup), rng.Next(), 0.5), rng);
        return new Config(rank, stride, dilation, same ? null : pads, groups, x, w, b);
    }
}
