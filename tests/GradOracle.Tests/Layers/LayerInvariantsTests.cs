using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>
/// The invariants that are sums which cancel (batch norm's two, softmax's and cross-entropy's rows, a convolution's
/// bias, average pooling's total) at the sizes where cancellation is worst, on correct gradients computed here in
/// another order than the oracle's (so their rounding differs), and on wrong ones. An allowance scaled by the
/// cancelled result would fail the correct ones.
/// </summary>
public class LayerInvariantsTests
{
    private static Tensor Dy(Shape shape, int seed) => Samples.Scaled(shape, seed, 2);

    /// <summary>
    /// Batch norm's input gradient staged through its computation graph, as students write it (cs231n): dvar, then dmean,
    /// then dx = dx̂·invstd + dvar·2(x - mean)/M + dmean/M. Its rounding is not the oracle's, nor symmetric in a channel's values.
    /// </summary>
    private static Tensor BatchNormStaged(NamedTensors inputs, Tensor dy, double eps)
    {
        var x = inputs["input"];
        int n = x.Shape[0], c = x.Shape[1], inner = x.Shape.CountFrom(2), m = n * inner;
        var dx = new double[x.Count];
        for (int ch = 0; ch < c; ch++)
        {
            var at = Enumerable.Range(0, n).SelectMany(b => Enumerable.Range(0, inner).Select(i => (b * c + ch) * inner + i)).ToArray();
            double mean = at.Sum(i => x.At(i)) / m;
            double variance = at.Sum(i => (x.At(i) - mean) * (x.At(i) - mean)) / m;
            double w = inputs.Contains("weight") ? inputs["weight"].At(ch) : 1, invStd = 1 / Math.Sqrt(variance + eps);
            double dvar = at.Sum(i => dy.At(i) * w * (x.At(i) - mean) * -0.5 * Math.Pow(variance + eps, -1.5));
            double dmean = at.Sum(i => -dy.At(i) * w * invStd) + dvar * at.Sum(i => -2 * (x.At(i) - mean)) / m;
            foreach (var i in at) dx[i] = dy.At(i) * w * invStd + dvar * 2 * (x.At(i) - mean) / m + dmean / m;
        }
        return Tensor.FromArray(x.Shape, dx);
    }

    [TestCase(true)]
    [TestCase(false)]
    public void Batch_norm_with_two_values_per_channel_keeps_both_invariants_on_a_correct_gradient(bool affine)
    {
        var bn = new BatchNorm(training: true, affine: affine);
        for (int seed = 1; seed <= 300; seed++)
        {
            var x = Samples.Distinct(Shape.Of(2, 3), seed);
            var inputs = affine
                ? new NamedTensors(("input", x), ("weight", Samples.Positive(Shape.Of(3), seed + 1)), ("bias", Samples.Scaled(Shape.Of(3), seed + 2, 1)))
                : NamedTensors.Input(x);
            var dy = Dy(x.Shape, seed + 3);
            var report = bn.CheckInvariants(inputs, dy, NamedTensors.Input(BatchNormStaged(inputs, dy, bn.Eps)));
            Assert.That(report.Holds, Is.True, $"seed {seed}: {report}");
        }
    }

    [Test]
    public void Batch_norm_with_two_values_per_channel_without_its_mean_terms_still_breaks_the_sum()
    {
        var bn = new BatchNorm(training: true);
        var x = Samples.Distinct(Shape.Of(2, 3), 4);
        var inputs = new NamedTensors(("input", x), ("weight", Samples.Positive(Shape.Of(3), 5)), ("bias", Samples.Scaled(Shape.Of(3), 6, 1)));
        var dy = Dy(x.Shape, 7);
        var report = bn.CheckInvariants(inputs, dy, NamedTensors.Input(GradOracle.Tests.Verification.PlantedBugs.Predicted(bn, inputs, dy, "batch-norm backward without")));
        Assert.That(report.Broke(BatchNorm.BatchNormSum), Is.True, report.ToString());
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Softmax_rows_of_two_with_one_dominant_probability_sum_to_zero_on_a_correct_gradient(bool log)
    {
        var op = new Softmax(1, log);
        for (int seed = 1; seed <= 300; seed++)
        {
            var x = Tensor.Create(Shape.Of(4, 2), i => (i % 2 == 0 ? 1 : -1) * (5 + 30 * new Random(seed * 10 + i).NextDouble()));
            var dy = Dy(x.Shape, seed);
            var p = op.Log ? new Softmax(1).Forward(NamedTensors.Input(x)) : op.Forward(NamedTensors.Input(x));
            // Jᵀ·dy column by column, in reverse: softmax J_ji = y_j(δ_ij - y_i); log_softmax J_ji = δ_ij - p_i.
            var dx = Tensor.Create(x.Shape, at =>
            {
                int row = at / 2, i = at % 2;
                double sum = 0;
                for (int j = 1; j >= 0; j--)
                    sum += dy.At(row * 2 + j) * (log ? (i == j ? 1 : 0) - p.At(row * 2 + i) : p.At(row * 2 + j) * ((i == j ? 1 : 0) - p.At(row * 2 + i)));
                return sum;
            });
            var report = op.CheckInvariants(NamedTensors.Input(x), dy, NamedTensors.Input(dx));
            Assert.That(report.Holds, Is.True, $"seed {seed}: {report}");
        }
        var diagonal = GradOracle.Tests.Verification.PlantedBugs.Predicted(op, NamedTensors.Input(T.Of([1, 2], 0.5, -0.25)), T.Of([1, 2], 1, 0.5), "softmax backward uses only");
        Assert.That(op.CheckInvariants(NamedTensors.Input(T.Of([1, 2], 0.5, -0.25)), T.Of([1, 2], 1, 0.5), NamedTensors.Input(diagonal)).Holds, Is.False,
            "the diagonal-only gradient still breaks it");
    }

    [Test]
    public void Cross_entropy_rows_of_two_classes_sum_to_zero_on_a_correct_gradient()
    {
        var op = new CrossEntropy(Reduction.Sum);
        for (int seed = 1; seed <= 300; seed++)
        {
            var x = Tensor.Create(Shape.Of(3, 2), i => (i % 2 == 0 ? 1 : -1) * (5 + 30 * new Random(seed * 7 + i).NextDouble()));
            var target = Tensor.Create(Shape.Of(3), i => (seed + i) % 2);
            var dy = T.Of([], 1.75);
            // p - onehot with p from exp(x - logsumexp), not the oracle's normalised exponentials.
            var dx = Tensor.Create(x.Shape, at =>
            {
                int row = at / 2;
                double a = x.At(row * 2), b = x.At(row * 2 + 1), lse = Math.Max(a, b) + Math.Log(1 + Math.Exp(-Math.Abs(a - b)));
                return 1.75 * (Math.Exp(x.At(at) - lse) - (at % 2 == (int)target.At(row) ? 1 : 0));
            });
            var report = op.CheckInvariants(new NamedTensors(("input", x), ("target", target)), dy, NamedTensors.Input(dx));
            Assert.That(report.Holds, Is.True, $"seed {seed}: {report}");
        }
    }

    [Test]
    public void A_convolution_bias_summing_large_cancelling_gradients_in_another_order_keeps_its_invariant()
    {
        var conv = Convolution.Create(1, padding: ConvPadding.Of(1));
        var inputs = new NamedTensors(("input", Samples.Distinct(Shape.Of(2, 1, 8), 1)), ("weight", Samples.Scaled(Shape.Of(2, 1, 3), 2, 0.5)), ("bias", Samples.Scaled(Shape.Of(2), 3, 0.5)));
        var rng = new Random(5);
        for (int trial = 0; trial < 100; trial++)
        {
            // Pairs of ±1e8 that cancel, plus ordinary values: the sum is small, its rounding is of the size of the terms.
            var dy = Tensor.Create(Shape.Of(2, 2, 8), i => (i % 2 == 0 ? 1e8 : -1e8) * (1 + i / 2 * 1e-3) + rng.NextDouble());
            var db = Tensor.Create(Shape.Of(2), c => Enumerable.Range(0, 2).SelectMany(n => Enumerable.Range(0, 8).Select(i => dy.At((n * 2 + c) * 8 + i))).Reverse().Sum());
            var grads = conv.Backward(inputs, dy).With("bias", db);
            Assert.That(conv.CheckInvariants(inputs, dy, grads).Holds, Is.True, $"trial {trial}");
            var firstOnly = grads.With("bias", Tensor.Create(Shape.Of(2), c => Enumerable.Range(0, 8).Sum(i => dy.At(c * 8 + i))));
            Assert.That(conv.CheckInvariants(inputs, dy, firstOnly).Broke(Convolution.BiasIsSumOfGradOutput), Is.True);
        }
    }

    [Test]
    public void Average_pooling_with_cancelling_gradients_keeps_the_sum_invariant_in_another_order()
    {
        var pool = AvgPool.Create(1, [3], [1], [1]);
        var x = Samples.Distinct(Shape.Of(1, 1, 9), 2);
        var dy = Tensor.Create(Shape.Of(1, 1, 9), i => (i % 2 == 0 ? 1e8 : -1e8) + i * 0.125);
        // Each window's share added window by window from the last: a different order from the oracle's.
        var g = pool.Windows.For(x.Shape);
        var dx = new double[9];
        var taps = new int[3];
        var kt = new int[3];
        for (int o = g.OutputPlaneSize - 1; o >= 0; o--)
        {
            int n = g.Gather(o, taps, kt);
            for (int k = 0; k < n; k++) dx[taps[k]] += dy.At(o) / pool.Divisor(g, o);
        }
        var report = pool.CheckInvariants(NamedTensors.Input(x), dy, NamedTensors.Input(Tensor.FromArray(x.Shape, dx)));
        Assert.That(report.Holds, Is.True, report.ToString());
    }

    [Test]
    public void A_float32_batch_norm_whose_gradient_cancels_to_rounding_is_within_its_allowance()
    {
        var bn = new BatchNorm(training: true, affine: false);
        for (int seed = 1; seed <= 100; seed++)
        {
            var x = DtypeTolerance.Round(Samples.Distinct(Shape.Of(2, 4), seed), "float32");
            var inputs = NamedTensors.Input(x);
            var dy = DtypeTolerance.Round(Dy(x.Shape, seed + 1), "float32");
            var expected = OpResult.Of(bn, inputs, dy);
            // The whole backward in float arithmetic: with two values per channel dx is float32 rounding and nothing else.
            var dx = Tensor.Create(x.Shape, at =>
            {
                int ch = at % 4, other = at < 4 ? at + 4 : at - 4;
                float a = (float)x.At(at), b = (float)x.At(other), mean = (a + b) / 2f;
                float variance = ((a - mean) * (a - mean) + (b - mean) * (b - mean)) / 2f, inv = 1f / MathF.Sqrt(variance + (float)bn.Eps);
                float ha = (a - mean) * inv, hb = (b - mean) * inv, ga = (float)dy.At(at), gb = (float)dy.At(other);
                return inv / 2f * (2f * ga - (ga + gb) - ha * (ga * ha + gb * hb));
            });
            var compare = new AnswerComparer("float32", DtypeTolerance.Allowances(bn, inputs, dy, expected, "float32"));
            Assert.That(compare.Same(expected, new OpResult(expected.Output, NamedTensors.Input(dx))), Is.True, $"seed {seed}");
        }
    }
}
