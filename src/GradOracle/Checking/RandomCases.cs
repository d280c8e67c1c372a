using GradOracle.Layers;
using GradOracle.Tensors;
using MathNet.Numerics.Random;

namespace GradOracle.Checking;

/// <summary>
/// Seeded random configurations of every layer whose rules libtorch shares: pooling (max with the
/// first-tie rule), convolution, linear, activations, softmax, cross-entropy, batch norm and flatten.
/// The same seed gives the same cases on every machine. Inputs are sometimes full of ties, NaN or -0.0,
/// and pooling padding stays within kernel_size/2 (the limit every PyTorch version accepts).
/// </summary>
public static class RandomCases
{
    /// <summary><paramref name="count"/> cases from <paramref name="seed"/>.</summary>
    public static IEnumerable<CheckCase> Generate(int seed, int count)
    {
        var rng = new Xoshiro256StarStar(seed, threadSafe: false);
        for (int made = 0; made < count;)
        {
            var c = TryOne(rng, seed * 100_003 + made);
            if (c is null) continue; // an invalid draw (empty output, ...): draw again
            made++;
            yield return c;
        }
    }

    private static CheckCase? TryOne(Random rng, int dataSeed)
    {
        try
        {
            var c = Draw(rng, dataSeed);
            c.Op.Forward(c.Inputs); // reject configurations the rules refuse
            return c;
        }
        catch (ParameterException)
        {
            return null;
        }
    }

    private static int R(Random rng, int lo, int hi) => rng.Next(lo, hi + 1);

    private static int[] Rs(Random rng, int n, int lo, int hi) => Enumerable.Range(0, n).Select(_ => R(rng, lo, hi)).ToArray();

    private static CheckCase Draw(Random rng, int dataSeed)
    {
        int family = rng.Next(12);
        int rank = R(rng, 1, 3);
        int batch = R(rng, 1, 2), channels = R(rng, 1, 3);
        int[] spatial = Rs(rng, rank, 2, rank == 3 ? 5 : 7);
        Shape Nc(int n, int c) => Shape.Of([n, c, .. spatial]);
        var exercises = new List<string>();

        Tensor PoolInput(bool allowNan)
        {
            var shape = Nc(batch, channels);
            int flavour = rng.Next(10);
            if (flavour < 3) { exercises.Add("ties"); return Samples.Ties(shape, dataSeed); }
            var x = Samples.Distinct(shape, dataSeed);
            if (flavour == 3 && allowNan) { exercises.Add("nan"); return Samples.With(x, double.NaN, rng.Next(x.Count), rng.Next(x.Count)); }
            if (flavour == 4) { exercises.Add("negative-zero"); return Samples.With(Samples.With(x, -0.0, rng.Next(x.Count)), 0.0, rng.Next(x.Count)); }
            return x;
        }

        (int[] K, int[] S, int[] P, bool Ceil) Window(int maxKernel)
        {
            var k = spatial.Select(n => R(rng, 1, Math.Min(maxKernel, n))).ToArray();
            var s = k.Select(_ => R(rng, 1, 3)).ToArray();
            var p = k.Select(kk => R(rng, 0, kk / 2)).ToArray();
            bool ceil = rng.Next(2) == 0;
            if (ceil) exercises.Add("ceil-mode");
            if (p.Any(v => v > 0)) exercises.Add("padding");
            return (k, s, p, ceil);
        }

        switch (family)
        {
            case 0: // max pooling (first tie, NaN propagates: libtorch's rules)
            {
                var (k, s, p, ceil) = Window(4);
                var d = k.Select(_ => rng.Next(4) == 0 ? 2 : 1).ToArray();
                if (d.Any(v => v > 1)) exercises.Add("dilation");
                return Case(MaxPool.Create(rank, k, s, p, d, ceil), NamedTensors.Input(PoolInput(true)), exercises);
            }
            case 1: // average pooling
            {
                var (k, s, p, ceil) = Window(4);
                bool include = rng.Next(2) == 0;
                int? divisor = rank > 1 && rng.Next(4) == 0 ? R(rng, 1, 9) : null; // avg_pool1d has no divisor_override
                if (divisor is not null) exercises.Add("divisor-override");
                exercises.Add(include ? "count-include-pad" : "count-exclude-pad");
                return Case(AvgPool.Create(rank, k, s, p, ceil, include, divisor), NamedTensors.Input(PoolInput(true)), exercises);
            }
            case 2:
                return Case(MaxPool.Adaptive(rank, spatial.Select(n => R(rng, 1, n + 1)).ToArray()), NamedTensors.Input(PoolInput(true)), [.. exercises, "adaptive"]);
            case 3:
                return Case(AvgPool.Adaptive(rank, spatial.Select(n => R(rng, 1, n + 1)).ToArray()), NamedTensors.Input(PoolInput(true)), [.. exercises, "adaptive"]);
            case 4:
                return rng.Next(2) == 0
                    ? Case(MaxPool.Global(rank), NamedTensors.Input(PoolInput(true)), [.. exercises, "global"])
                    : Case(AvgPool.Global(rank), NamedTensors.Input(PoolInput(false)), [.. exercises, "global"]);
            case 5: // convolution
            {
                int groups = R(rng, 1, 3), cin = groups * R(rng, 1, 2), cout = groups * R(rng, 1, 2);
                var k = spatial.Select(n => R(rng, 1, Math.Min(3, n))).ToArray();
                var d = k.Select(_ => rng.Next(4) == 0 ? 2 : 1).ToArray();
                int mode = rng.Next(4);
                var s = mode == 0 ? Rs(rng, rank, 1, 1) : Rs(rng, rank, 1, 2);
                var padding = mode == 0 ? ConvPadding.Same : mode == 1 ? ConvPadding.Valid : ConvPadding.Of(Rs(rng, rank, 0, 2));
                bool bias = rng.Next(3) > 0;
                var inputs = new List<(string, Tensor)>
                {
                    ("input", Samples.Distinct(Nc(batch, cin), dataSeed)),
                    ("weight", Samples.Scaled(Shape.Of([cout, cin / groups, .. k]), dataSeed + 1, 0.5)),
                };
                if (bias) inputs.Add(("bias", Samples.Scaled(Shape.Of(cout), dataSeed + 2, 0.5)));
                if (groups > 1) exercises.Add("groups");
                if (d.Any(v => v > 1)) exercises.Add("dilation");
                return Case(Convolution.Create(rank, s, padding, d, groups, bias), new NamedTensors(inputs.ToArray()), exercises);
            }
            case 6: // linear
            {
                int inF = R(rng, 1, 6), outF = R(rng, 1, 5);
                bool bias = rng.Next(3) > 0;
                var lead = Rs(rng, R(rng, 1, 2), 1, 3);
                var inputs = new List<(string, Tensor)>
                {
                    ("input", Samples.Distinct(Shape.Of([.. lead, inF]), dataSeed)),
                    ("weight", Samples.Scaled(Shape.Of(outF, inF), dataSeed + 1, 1)),
                };
                if (bias) inputs.Add(("bias", Samples.Scaled(Shape.Of(outF), dataSeed + 2, 1)));
                return Case(new Linear(bias), new NamedTensors(inputs.ToArray()), exercises);
            }
            case 7: // activations
            {
                var x = Samples.Distinct(Nc(batch, channels), dataSeed);
                if (rng.Next(2) == 0) { x = Samples.With(x, 0.0, rng.Next(x.Count)); exercises.Add("zero"); }
                IOp op = rng.Next(4) switch
                {
                    0 => Activation.Relu(),
                    1 => Activation.LeakyRelu(rng.Next(2) == 0 ? 0.01 : 0.2),
                    2 => Activation.Sigmoid(),
                    _ => Activation.Tanh(),
                };
                return Case(op, NamedTensors.Input(x), exercises);
            }
            case 8: // softmax, log_softmax
            {
                var x = Samples.Distinct(Nc(batch, channels + 1), dataSeed);
                int dim = R(rng, -x.Shape.Rank, x.Shape.Rank - 1);
                return Case(new Softmax(dim, log: rng.Next(2) == 0), NamedTensors.Input(x), exercises);
            }
            case 9: // cross-entropy
            {
                int classes = R(rng, 2, 5), n = R(rng, 1, 4);
                var spatialDims = rng.Next(2) == 0 ? [] : Rs(rng, R(rng, 1, 2), 1, 3);
                var x = Samples.Distinct(Shape.Of([n, classes, .. spatialDims]), dataSeed);
                var targetShape = Shape.Of([n, .. spatialDims]);
                var target = Tensor.Create(targetShape, _ => rng.Next(classes));
                var reduction = (Reduction)rng.Next(3);
                return Case(new CrossEntropy(reduction), new NamedTensors(("input", x), ("target", target)), [.. exercises, reduction.ToString().ToLowerInvariant()]);
            }
            case 10: // batch norm
            {
                bool training = rng.Next(2) == 0;
                var x = Samples.Distinct(Shape.Of([R(rng, 2, 3), channels, .. spatial.Take(rank - 1)]), dataSeed);
                var inputs = new NamedTensors(("input", x), ("weight", Samples.Positive(Shape.Of(channels), dataSeed + 1)),
                    ("bias", Samples.Scaled(Shape.Of(channels), dataSeed + 2, 0.5)),
                    ("running_mean", Samples.Scaled(Shape.Of(channels), dataSeed + 3, 0.5)),
                    ("running_var", Samples.Positive(Shape.Of(channels), dataSeed + 4)));
                return Case(new BatchNorm(training), inputs, [.. exercises, training ? "training" : "evaluation"]);
            }
            default: // flatten
            {
                var x = Samples.Distinct(Nc(batch, channels), dataSeed);
                int start = R(rng, 0, x.Shape.Rank - 1), end = R(rng, start, x.Shape.Rank - 1);
                return Case(new Flatten(start, end - x.Shape.Rank * rng.Next(2)), NamedTensors.Input(x), exercises);
            }
        }
    }

    private static CheckCase Case(IOp op, NamedTensors inputs, IEnumerable<string> exercises) => new(op, inputs, exercises.Distinct().ToArray());
}
