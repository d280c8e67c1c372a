using GradOracle.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace GradOracle.Layers;

/// <summary>
/// batch_norm over (N, C, *): per channel, training mode normalises with the batch mean and the biased
/// variance, x̂ = (x - mean) / sqrt(var + eps), y = weight·x̂ + bias; evaluation mode uses running_mean
/// and running_var. Training backward carries the mean terms:
/// dx = invstd/M · (M·dx̂ - Σdx̂ - x̂·Σ(dx̂·x̂)) with dx̂ = dy·weight and M = N × spatial.
/// In training with running statistics given, PyTorch also updates them in place, which the oracle gives as extra
/// outputs: running_mean ← (1 - momentum)·running_mean + momentum·mean, running_var ← (1 - momentum)·running_var +
/// momentum·var·M/(M - 1), the unbiased variance (nn.BatchNorm's momentum=None is momentum 1/num_batches_tracked).
/// </summary>
public sealed class BatchNorm(bool training, double eps = 1e-5, bool affine = true, double momentum = 0.1)
    : IOp, IForwardInto, IHasInvariants, IHasJacobianStructure, IHasMagnitudes, IHasExtraOutputs
{
    /// <summary>batch_norm; in training the running statistics given are updated, as extra outputs.</summary>
    public static OpDescriptor<BatchNorm> Descriptor { get; } = new()
    {
        Name = "batch_norm",
        Inputs =
        [
            new("input"), new("running_mean", Optional: true, Differentiable: false), new("running_var", Optional: true, Differentiable: false),
            new("weight", Optional: true), new("bias", Optional: true),
        ],
        Attributes =
        [
            new("training", "true (batch statistics) or false (running statistics, which are then required)", "False"),
            new("eps", "a positive number added to the variance", "1e-05"),
            new("momentum", "in [0, 1]: the weight of this batch in the running statistics' update (training)", "0.1"),
        ],
        Build = a => new BatchNorm(a.Bool("training", false), a.Double("eps", 1e-5), a.Has("weight"), a.Double("momentum", 0.1)),
        Invariants = [BatchNormSum, BatchNormOrthogonal],
        KnownBugs = (bn, inputs, dy) => bn.Training
            ?
            [
                BugHypothesis.InTensor("grads.input", "batch-norm backward without its mean terms (-Σdx̂/M and -x̂·Σ(dx̂·x̂)/M): the batch statistics treated as constants",
                    () => bn.WithoutMeanTerms(inputs, dy)),
                BugHypothesis.InTensor("extras.running_var", "running_var updated with the biased batch variance (divided by M, not M - 1, as PyTorch's running estimate is)",
                    () => bn.RunningStatistics(inputs, unbiased: false)?["running_var"]),
                BugHypothesis.InWholeAnswer($"running statistics updated Keras-style, old·momentum + batch·(1 - momentum), where PyTorch weighs this batch by momentum = {Tensor.FormatNumber(bn.Momentum)}",
                    () => bn.RunningStatistics(inputs, keras: true) is { } keras ? OpResult.Of(bn, inputs, dy) with { Extras = keras } : null),
            ]
            : [],
        Examples = () =>
        [
            Running(new BatchNorm(training: true), Shape.Of(4, 3), 551, "training", "running-statistics"),
            Running(new BatchNorm(training: true, momentum: 0.5), Shape.Of(2, 2, 3, 2), 552, "training", "running-statistics", "momentum"),
            Running(new BatchNorm(training: true, momentum: 1.0 / 3), Shape.Of(2, 3, 4), 553, "training", "running-statistics", "cumulative-average"),
            Running(new BatchNorm(training: true, affine: false, momentum: 1), Shape.Of(2, 2), 554, "training", "running-statistics", "two-per-channel"),
        ],
        DrawCase = d =>
        {
            bool training = d.OneIn(2);
            int channels = d.Channels;
            var x = Samples.Distinct(Shape.Of([d.Int(2, 3), channels, .. d.Spatial.Take(d.Rank - 1)]), d.DataSeed);
            var inputs = new NamedTensors(("input", x), ("weight", Samples.Positive(Shape.Of(channels), d.DataSeed + 1)),
                ("bias", Samples.Scaled(Shape.Of(channels), d.DataSeed + 2, 0.5)),
                ("running_mean", Samples.Scaled(Shape.Of(channels), d.DataSeed + 3, 0.5)),
                ("running_var", Samples.Positive(Shape.Of(channels), d.DataSeed + 4)));
            double momentum = training && d.OneIn(3) ? new[] { 0, 0.5, 1, 1.0 / 3 }[d.Rng.Next(4)] : 0.1; // 1/3: momentum=None's third batch
            return d.Case(new BatchNorm(training, momentum: momentum), inputs, training ? "training" : "evaluation");
        },
    };

    /// <summary>A case with running statistics given (and weight and bias when affine).</summary>
    private static CheckCase Running(BatchNorm bn, Shape shape, int seed, params string[] exercises)
    {
        int c = shape[1];
        var inputs = new NamedTensors(("input", Samples.Distinct(shape, seed)), ("running_mean", Samples.Scaled(Shape.Of(c), seed + 1, 0.5)),
            ("running_var", Samples.Positive(Shape.Of(c), seed + 2)));
        if (bn.Affine) inputs = inputs.With("weight", Samples.Positive(Shape.Of(c), seed + 3)).With("bias", Samples.Scaled(Shape.Of(c), seed + 4, 0.5));
        return new CheckCase(bn, inputs, exercises);
    }

    /// <summary>The input gradient without its mean terms, dx̂·invstd only (a known bug).</summary>
    private Tensor WithoutMeanTerms(NamedTensors inputs, Tensor dy)
    {
        var (_, invStd, _) = Statistics(inputs);
        var x = inputs["input"];
        int c = x.Shape[1], inner = x.Shape.CountFrom(2);
        return Tensor.Create(x.Shape, i => dy.At(i) * (Affine ? inputs["weight"].At(i / inner % c) : 1) * invStd[i / inner % c]);
    }

    /// <summary>Batch statistics (training) or running statistics (evaluation).</summary>
    public bool Training { get; } = training;

    /// <summary>Added to the variance.</summary>
    public double Eps { get; } = eps > 0 ? eps : throw new ParameterException("eps", eps.ToString(), "must be positive");

    /// <summary>Whether weight and bias are applied.</summary>
    public bool Affine { get; } = affine;

    /// <summary>This batch's weight in the running statistics' update.</summary>
    public double Momentum { get; } = momentum is >= 0 and <= 1 ? momentum
        : throw new ParameterException("momentum", Tensor.FormatNumber(momentum), "must be in [0, 1]: the weight of this batch in the running statistics' exponential average");

    /// <inheritdoc/>
    public string Name => "batch_norm";

    /// <inheritdoc/>
    public OpAttributes Attributes => new(("training", Training), ("eps", Eps), ("momentum", Momentum));

    /// <summary>The attributes, and "weight=None, bias=None" without affine parameters.</summary>
    public string AttributeText => Attributes + (Affine ? "" : ", weight=None, bias=None");

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = affine ? ["input", "weight", "bias"] : ["input"];

    /// <summary>Elements per pass from which channels go to several cores.</summary>
    private const int ParallelElements = 1 << 16;

    /// <summary>
    /// <paramref name="body"/> for every channel, in parallel for large inputs: channels share no sum, so the bits do not
    /// depend on the split. An exception from a channel is rethrown as itself (the first one, in channel order when serial).
    /// </summary>
    private static void ForEachChannel(int elements, int channels, Action<int> body)
    {
        if (elements < ParallelElements) { for (int ch = 0; ch < channels; ch++) body(ch); return; }
        try { Parallel.For(0, channels, body); }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0) { System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw(); }
    }

    /// <summary>Per channel: mean, inverse standard deviation and x̂ for every element (into <paramref name="xHat"/>, or a new array).</summary>
    private (AxisLayout Layout, double[] Mean, double[] InvStd, double[] XHat) Normalise(NamedTensors inputs, double[]? xHat = null)
    {
        var x = inputs["input"];
        if (x.Shape.Rank < 2) throw new ParameterException("input.shape", x.Shape.ToString(), "batch_norm takes (N, C, *)");
        int c = x.Shape[1];
        var perChannel = Shape.Of(c);
        foreach (var name in (Affine ? new[] { "weight", "bias" } : []).Concat(Training ? [] : new[] { "running_mean", "running_var" }))
            if (inputs[name].Shape != perChannel)
                throw new ParameterException($"{name}.shape", inputs[name].Shape.ToString(), $"must be (C) = ({c})");
        var a = AxisLayout.Of(x.Shape, 1);
        int m = a.Outer * a.Inner;
        if (Training && m < 2)
            throw new ParameterException("input.shape", x.Shape.ToString(), "training batch_norm needs more than 1 value per channel (N × spatial size)");
        var mean = new double[c];
        var invStd = new double[c];
        xHat ??= new double[x.Count];
        var into = xHat;
        var (runningMean, runningVar) = Training ? (null, null) : (inputs["running_mean"], inputs["running_var"]);
        ForEachChannel(x.Count, c, ch =>
        {
            var xs = x.Span;
            double mu, variance;
            if (Training)
            {
                // Rows (n, ch, ·) are contiguous: sums per row in index order, added over the batch.
                double s = 0;
                for (int o = 0; o < a.Outer; o++) s += OrderedSums.Sum(xs.Slice(a.At(o, ch, 0), a.Inner));
                mu = s / m;
                double ss = 0;
                for (int o = 0; o < a.Outer; o++)
                {
                    var centred = into.AsSpan(a.At(o, ch, 0), a.Inner); // scratch until x̂ is written below
                    TensorPrimitives.Subtract(xs.Slice(a.At(o, ch, 0), a.Inner), mu, centred);
                    ss += OrderedSums.SumOfSquares(centred);
                }
                variance = ss / m; // biased, as PyTorch normalises
            }
            else
            {
                mu = runningMean!.At(ch);
                variance = runningVar!.At(ch);
                if (!(variance >= 0)) throw new ParameterException($"running_var[{ch}]", Tensor.FormatNumber(variance), "must be non-negative");
            }
            mean[ch] = mu;
            invStd[ch] = 1 / Math.Sqrt(variance + Eps);
            for (int o = 0; o < a.Outer; o++)
            {
                var row = into.AsSpan(a.At(o, ch, 0), a.Inner);
                TensorPrimitives.Subtract(xs.Slice(a.At(o, ch, 0), a.Inner), mu, row);
                TensorPrimitives.Multiply(row, invStd[ch], row);
            }
        });
        return (a, mean, invStd, xHat);
    }

    /// <summary>x̂, the per-channel inverse standard deviations, and the magnitude x̂'s rounding comes from (see <see cref="XHatMagnitudes"/>), for invariants.</summary>
    internal (Tensor XHat, double[] InvStd, double[] XHatMagnitude) Statistics(NamedTensors inputs)
    {
        var n = Normalise(inputs);
        return (Tensor.Wrap(inputs["input"].Shape, n.XHat), n.InvStd, XHatMagnitudes(inputs["input"], n.Layout, n.Mean, n.InvStd, n.XHat));
    }

    /// <summary>Per element, A = |x̂| + invstd·(|x| + |mean|): x̂ = (x - mean)·invstd carries the rounding of x and of the mean.</summary>
    private static double[] XHatMagnitudes(Tensor x, AxisLayout a, double[] mean, double[] invStd, double[] xHat) =>
        Enumerable.Range(0, x.Count).Select(at => Math.Abs(xHat[at]) + invStd[at / a.Inner % a.Length] * (Math.Abs(x.At(at)) + Math.Abs(mean[at / a.Inner % a.Length]))).ToArray();

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs) => Forward(inputs, null);

    /// <inheritdoc cref="IForwardInto.Forward"/>
    public Tensor Forward(NamedTensors inputs, double[]? output)
    {
        // x̂ is written into the output's array and scaled in place: one allocation per forward pass, or none.
        var (a, _, _, y) = Normalise(inputs, Tensor.OutputArray(inputs["input"].Shape, output));
        if (Affine)
        {
            var (weight, bias) = (inputs["weight"], inputs["bias"]);
            ForEachChannel(y.Length, a.Length, ch =>
            {
                for (int o = 0; o < a.Outer; o++)
                {
                    var row = y.AsSpan(a.At(o, ch, 0), a.Inner);
                    TensorPrimitives.Multiply(row, weight.At(ch), row);
                    TensorPrimitives.Add(row, bias.At(ch), row);
                }
            });
        }
        return Tensor.Wrap(inputs["input"].Shape, y);
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var x = inputs["input"];
        Tensor.RequireShape("grad_output", gradOutput, x.Shape);
        var (a, _, invStd, xHat) = Normalise(inputs);
        int m = a.Outer * a.Inner;
        var dx = new double[x.Count];
        var dw = new double[a.Length];
        var db = new double[a.Length];
        var weight = Affine ? inputs["weight"] : null;
        ForEachChannel(x.Count, a.Length, ch =>
        {
            var dy = gradOutput.Span;
            double w = weight?.At(ch) ?? 1;
            double sumDy = 0, sumDyXHat = 0;
            for (int o = 0; o < a.Outer; o++)
            {
                int row = a.At(o, ch, 0);
                ReadOnlySpan<double> g = dy.Slice(row, a.Inner), h = xHat.AsSpan(row, a.Inner);
                for (int i = 0; i < g.Length; i++)
                {
                    sumDy += g[i];
                    sumDyXHat += g[i] * h[i];
                }
            }
            db[ch] = sumDy;
            dw[ch] = sumDyXHat;
            double scale = invStd[ch] / m;
            for (int o = 0; o < a.Outer; o++)
            {
                int row = a.At(o, ch, 0);
                ReadOnlySpan<double> g = dy.Slice(row, a.Inner), h = xHat.AsSpan(row, a.Inner);
                var d = dx.AsSpan(row, a.Inner);
                for (int i = 0; i < g.Length; i++)
                {
                    double dxHat = g[i] * w;
                    d[i] = Training
                        ? scale * (m * dxHat - w * sumDy - h[i] * w * sumDyXHat) // the mean terms: Σdx̂ and x̂·Σ(dx̂·x̂)
                        : dxHat * invStd[ch];
                }
            }
        });
        var grads = new List<(string, Tensor)> { ("input", Tensor.Wrap(x.Shape, dx)) };
        if (Affine)
        {
            grads.Add(("weight", Tensor.Wrap(Shape.Of(a.Length), dw)));
            grads.Add(("bias", Tensor.Wrap(Shape.Of(a.Length), db)));
        }
        return new NamedTensors(grads.ToArray());
    }

    /// <summary>
    /// What each element sums. x̂ = (x - mean)·invstd carries the rounding of x and the mean: A = |x̂| + invstd·(|x| + |mean|).
    /// The output is weight·x̂ + bias; in training dx = invstd/M·(M·dx̂ - Σdx̂ - x̂·Σ(dx̂·x̂)) cancels to almost nothing when
    /// a channel has few elements, so its magnitude is that of its three terms, invstd·(|dx̂| + Σ|dx̂|/M + A·Σ(|dx̂|·A)/M);
    /// the weight's gradient Σ dy·x̂ has Σ|dy|·A and the bias's Σ|dy|.
    /// </summary>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput)
    {
        var x = inputs["input"];
        var (a, mean, invStd, xHat) = Normalise(inputs);
        var big = XHatMagnitudes(x, a, mean, invStd, xHat);
        int m = a.Outer * a.Inner;
        var y = new double[x.Count];
        var dx = new double[x.Count];
        var dw = new double[a.Length];
        var db = new double[a.Length];
        for (int ch = 0; ch < a.Length; ch++)
        {
            double w = Affine ? Math.Abs(inputs["weight"].At(ch)) : 1, b = Affine ? Math.Abs(inputs["bias"].At(ch)) : 0;
            double s1 = 0, s2 = 0;
            foreach (var at in Channel(a, ch))
            {
                double g = Math.Abs(gradOutput.At(at));
                y[at] = w * big[at] + b;
                s1 += g * w;
                s2 += g * w * big[at];
                dw[ch] += g * big[at];
                db[ch] += g;
            }
            foreach (var at in Channel(a, ch))
            {
                double g = Math.Abs(gradOutput.At(at)) * w;
                dx[at] = Training ? invStd[ch] * (g + s1 / m + big[at] * s2 / m) : invStd[ch] * g;
            }
        }
        var grads = new List<(string, Tensor)> { ("input", Tensor.Wrap(x.Shape, dx)) };
        if (Affine) grads.AddRange([("weight", Tensor.Wrap(Shape.Of(a.Length), dw)), ("bias", Tensor.Wrap(Shape.Of(a.Length), db))]);
        return new OpResult(Tensor.Wrap(x.Shape, y), new NamedTensors(grads.ToArray()), RunningStatistics(inputs, magnitudes: true));
    }

    /// <inheritdoc/>
    public NamedTensors? ExtraOutputs(NamedTensors inputs) => RunningStatistics(inputs);

    /// <summary>
    /// The updated running statistics, in training with both given (else null): PyTorch's rule, or for the known bugs the
    /// biased variance (<paramref name="unbiased"/> false) or Keras's weighting (<paramref name="keras"/>); with
    /// <paramref name="magnitudes"/>, what each sums, |(1 - m)·old| + m·(what the batch statistic sums).
    /// </summary>
    private NamedTensors? RunningStatistics(NamedTensors inputs, bool unbiased = true, bool keras = false, bool magnitudes = false)
    {
        if (!Training || !inputs.Contains("running_mean") || !inputs.Contains("running_var")) return null;
        var x = inputs["input"];
        var (oldMean, oldVar) = (inputs["running_mean"], inputs["running_var"]);
        var a = AxisLayout.Of(x.Shape, 1);
        foreach (var old in new[] { oldMean, oldVar })
            if (old.Shape != Shape.Of(a.Length))
                throw new ParameterException(old == oldMean ? "running_mean.shape" : "running_var.shape", old.Shape.ToString(), $"must be (C) = ({a.Length})");
        int m = a.Outer * a.Inner;
        double batch = keras ? 1 - Momentum : Momentum, keep = 1 - batch, correction = unbiased ? (double)m / (m - 1) : 1;
        var (mean, variance) = (new double[a.Length], new double[a.Length]);
        for (int ch = 0; ch < a.Length; ch++)
        {
            double sum = 0, absolute = 0, squares = 0, spread = 0;
            foreach (var at in Channel(a, ch)) { sum += x.At(at); absolute += Math.Abs(x.At(at)); }
            double mu = sum / m;
            foreach (var at in Channel(a, ch))
            {
                double d = x.At(at) - mu;
                squares += d * d;
                spread += Math.Abs(d) * (Math.Abs(d) + 2 * (Math.Abs(x.At(at)) + Math.Abs(mu))); // (x - μ)² carries x's and μ's rounding
            }
            mean[ch] = magnitudes ? Math.Abs(keep * oldMean.At(ch)) + batch * absolute / m : keep * oldMean.At(ch) + batch * mu;
            variance[ch] = magnitudes ? Math.Abs(keep * oldVar.At(ch)) + batch * correction * spread / m : keep * oldVar.At(ch) + batch * correction * squares / m;
        }
        return new NamedTensors(("running_mean", Tensor.Wrap(Shape.Of(a.Length), mean)), ("running_var", Tensor.Wrap(Shape.Of(a.Length), variance)));
    }

    private static IEnumerable<int> Channel(AxisLayout a, int ch)
    {
        for (int o = 0; o < a.Outer; o++)
            for (int i = 0; i < a.Inner; i++) yield return a.At(o, ch, i);
    }

    /// <inheritdoc/>
    public bool IsSmooth => true; // no max, no threshold: differentiable at every finite input

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape)
    {
        var a = AxisLayout.Of(inputs["input"].Shape, 1);
        // Outputs in rows (n, ch, ·) of a.Inner: row q is channel q % a.Length.
        if (input != "input") return JacobianStructure.ByPlane(1, _ => 0, a.Inner, (q, _) => q % a.Length); // weight[c], bias[c] reach channel c
        if (!Training) return JacobianStructure.Diagonal;
        // In training an element reaches its whole channel: colour by the position within the channel.
        return JacobianStructure.ByPlane(a.Outer * a.Inner, e => e / (a.Length * a.Inner) * a.Inner + e % a.Inner, a.Inner,
            (q, m) => a.At(m / a.Inner, q % a.Length, m % a.Inner), sameRanks: true); // rank: the channel
    }

    /// <inheritdoc/>
    public InvariantReport CheckInvariants(NamedTensors inputs, Tensor gradOutput, NamedTensors gradients) =>
        InvariantsOf(this, inputs, gradOutput, gradients["input"]);

    /// <summary>Name: batch norm's centred gradient.</summary>
    public const string BatchNormSum = "per channel sum(dx) = 0";
    /// <summary>Name: batch norm's gradient orthogonal to x̂ (exactly 0 only when eps = 0).</summary>
    public const string BatchNormOrthogonal = "per channel sum(dx * x_hat) = 0 (up to the eps term)";

    /// <summary>
    /// Batch norm in training: per channel Σ dx = 0, and Σ dx·x̂ = invstd/M·(M - Σx̂²)·Σ(dx̂·x̂) with dx̂ = dy·weight
    /// (<see cref="CentredGradient"/>). The second is 0 when eps = 0; with eps &gt; 0, Σx̂² = M·var/(var + eps) falls
    /// short of M, leaving that small term. With two values per channel dx itself is rounding.
    /// </summary>
    private static InvariantReport InvariantsOf(BatchNorm op, NamedTensors inputs, Tensor gradOutput, Tensor dx)
    {
        var r = new InvariantReport.Builder();
        if (!op.Training) return r.Build();
        var x = inputs["input"];
        if (dx.Shape != x.Shape) { r.Violated(BatchNormSum, $"dx has shape {dx.Shape}, the input {x.Shape}"); return r.Build(); }
        var (a, mean, invStd, xHat) = op.Normalise(inputs);
        var magnitude = op.MagnitudesOf(inputs, gradOutput).Grads["input"];
        int m = a.Outer * a.Inner;
        for (int c = 0; c < a.Length; c++)
            CentredGradient.Check(r, BatchNormSum, BatchNormOrthogonal, $"channel {c}", Channel(a, c), m, mean[c], invStd[c], x, e => xHat[e],
                _ => op.Affine ? inputs["weight"].At(c) : 1, gradOutput, dx, magnitude);
        return r.Build();
    }
}
