using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// layer_norm, group_norm and instance_norm, as torch.nn.functional defines them: each normalises contiguous blocks of
/// M elements with the block's mean and biased variance, x̂ = (x - μ)·k with k = 1/sqrt(var + eps), then y = γ·x̂ + β.
/// layer_norm's block is the last dimensions (normalized_shape) and γ, β have that shape; group_norm's is a group of
/// C/num_groups channels of one sample, instance_norm's one channel of one sample, and γ, β are per channel.
/// Backward: dx = k·(dx̂ - Σdx̂/M) + 2·(x - μ)/M · dk/dvar · Σ dx̂·(x - μ), dx̂ = dy·γ, with dk/dvar = -k³/2;
/// dγ = Σ dy·x̂ and dβ = Σ dy over the elements each parameter scales.
/// </summary>
public sealed class Normalization : IOp, IHasInvariants, IHasJacobianStructure, IHasMagnitudes
{
    private readonly int[] normalizedShape;
    // Bug hypotheses only: another block, eps outside the square root, the variance divided by M - ddof.
    private readonly Func<Shape, int>? block;
    private readonly bool epsOutside;
    private readonly int ddof;

    private Normalization(string name, int[] normalizedShape, int groups, double eps, bool weight, bool bias,
        Func<Shape, int>? block = null, bool epsOutside = false, int ddof = 0)
    {
        Name = name;
        this.normalizedShape = normalizedShape;
        Groups = groups;
        Eps = eps > 0 ? eps : throw new ParameterException("eps", Tensor.FormatNumber(eps), "must be positive");
        (HasWeight, HasBias) = (weight, bias);
        (this.block, this.epsOutside, this.ddof) = (block, epsOutside, ddof);
        DifferentiableInputs = [.. new[] { ("input", true), ("weight", weight), ("bias", bias) }.Where(i => i.Item2).Select(i => i.Item1)];
    }

    /// <summary>layer_norm over the last dimensions, of sizes <paramref name="normalizedShape"/>.</summary>
    public static Normalization Layer(int[] normalizedShape, double eps = 1e-5, bool weight = true, bool bias = true) =>
        normalizedShape.Length > 0 && normalizedShape.All(d => d > 0)
            ? new("layer_norm", normalizedShape, 0, eps, weight, bias)
            : throw new ParameterException("normalized_shape", PoolingWindows.Show(normalizedShape), "must be one or more positive sizes");

    /// <summary>group_norm with <paramref name="numGroups"/> groups of channels.</summary>
    public static Normalization Group(int numGroups, double eps = 1e-5, bool weight = true, bool bias = true) =>
        numGroups >= 1 ? new("group_norm", [], numGroups, eps, weight, bias) : throw new ParameterException("num_groups", numGroups.ToString(), "must be at least 1");

    /// <summary>instance_norm with the input's own statistics.</summary>
    public static Normalization Instance(double eps = 1e-5, bool weight = true, bool bias = true) => new("instance_norm", [], 0, eps, weight, bias);

    private static readonly OpInput[] AffineInputs = [new("input"), new("weight", Optional: true), new("bias", Optional: true)];
    private static readonly OpAttribute EpsAttribute = new("eps", "a positive number added to the variance", "1e-05");

    /// <summary>layer_norm.</summary>
    public static OpDescriptor<Normalization> LayerDescriptor { get; } = new()
    {
        Name = "layer_norm",
        Inputs = AffineInputs,
        Attributes = [new("normalized_shape", "the sizes of the input's last dimensions, which are normalised together"), EpsAttribute],
        Build = a => Layer(a.Ints("normalized_shape"), a.Double("eps", 1e-5), a.Has("weight"), a.Has("bias")),
        Invariants = [BlockSum, BlockOrthogonal],
        KnownBugs = Bugs,
        Examples = () =>
        [
            Example(Layer([4]), Shape.Of(2, 3, 4), 441, "last-dimension"),
            Example(Layer([3, 3], weight: true, bias: false), Shape.Of(2, 2, 3, 3), 442, "two-dimensions", "no-bias"),
            Example(Layer([5], eps: 1e-3, weight: false, bias: false), Shape.Of(3, 5), 443, "no-affine", "eps"),
            Example(Layer([2, 2, 3]), Shape.Of(1, 2, 2, 3), 444, "every-dimension"),
        ],
        DrawCase = d =>
        {
            var shape = d.ChannelsFirst(d.Batch, d.Channels);
            int dims = d.Int(1, Math.Min(2, shape.Rank - 1));
            var op = Layer(shape.Slice(shape.Rank - dims), 1e-5, !d.OneIn(4), !d.OneIn(4));
            return d.Case(op, Inputs(op, shape, d.DataSeed));
        },
        DrawWeight = 0.25,
    };

    /// <summary>group_norm.</summary>
    public static OpDescriptor<Normalization> GroupDescriptor { get; } = new()
    {
        Name = "group_norm",
        Inputs = AffineInputs,
        Attributes = [new("num_groups", "a positive integer dividing the channels"), EpsAttribute],
        Build = a => Group(a.Int("num_groups"), a.Double("eps", 1e-5), a.Has("weight"), a.Has("bias")),
        Invariants = [BlockSum, BlockOrthogonal],
        KnownBugs = Bugs,
        Examples = () =>
        [
            Example(Group(2), Shape.Of(2, 4, 3), 451, "groups"),
            Example(Group(3, weight: false, bias: false), Shape.Of(1, 6, 2, 2), 452, "no-affine"),
            Example(Group(1), Shape.Of(2, 4, 5), 453, "one-group"),
            Example(Group(4, eps: 1e-3), Shape.Of(2, 4, 3), 454, "group-per-channel", "eps"),
        ],
        DrawCase = d =>
        {
            int groups = d.Int(1, 3);
            var shape = d.ChannelsFirst(d.Batch, groups * d.Int(1, 2));
            var op = Group(groups, 1e-5, !d.OneIn(4), !d.OneIn(4));
            return d.Case(op, Inputs(op, shape, d.DataSeed));
        },
        DrawWeight = 0.25,
    };

    /// <summary>instance_norm.</summary>
    public static OpDescriptor<Normalization> InstanceDescriptor { get; } = new()
    {
        Name = "instance_norm",
        Inputs = AffineInputs,
        Attributes = [EpsAttribute],
        Build = a => Instance(a.Double("eps", 1e-5), a.Has("weight"), a.Has("bias")),
        Invariants = [BlockSum, BlockOrthogonal],
        KnownBugs = Bugs,
        Examples = () =>
        [
            Example(Instance(), Shape.Of(2, 3, 4), 461, "affine"),
            Example(Instance(weight: false, bias: false), Shape.Of(1, 2, 3, 3), 462, "no-affine"),
            Example(Instance(eps: 1e-3), Shape.Of(2, 2, 2, 2, 2), 463, "rank-3", "eps"),
        ],
        DrawCase = d =>
        {
            var op = Instance(1e-5, !d.OneIn(4), !d.OneIn(4));
            var shape = d.ChannelsFirst(d.Batch, d.Channels);
            return d.Case(op, Inputs(op, shape, d.DataSeed));
        },
        DrawWeight = 0.25,
    };

    private static NamedTensors Inputs(Normalization op, Shape shape, int seed)
    {
        var parameters = op.Name == "layer_norm" ? Shape.Of(op.normalizedShape) : Shape.Of(shape[1]);
        var list = new List<(string, Tensor)> { ("input", Samples.Distinct(shape, seed)) };
        if (op.HasWeight) list.Add(("weight", Samples.Positive(parameters, seed + 1)));
        if (op.HasBias) list.Add(("bias", Samples.Scaled(parameters, seed + 2, 0.5)));
        return new NamedTensors([.. list]);
    }

    private static CheckCase Example(Normalization op, Shape shape, int seed, params string[] exercises) => new(op, Inputs(op, shape, seed), exercises);

    private static IEnumerable<BugHypothesis> Bugs(Normalization op, NamedTensors inputs, Tensor dy)
    {
        var x = inputs["input"].Shape;
        int m = op.BlockSize(x);
        yield return BugHypothesis.InTensor("grads.input", "normalisation backward without its mean terms: the block's mean and variance treated as constants (dx = dy·γ·k)",
            () => op.WithoutMeanTerms(inputs, dy));
        yield return BugHypothesis.InWholeAnswer("output: eps added outside the square root, (x - mean)/(sqrt(var) + eps), not (x - mean)/sqrt(var + eps)",
            () => OpResult.Of(op.Variant(epsOutside: true), inputs, dy));
        if (m > 1)
            yield return BugHypothesis.InWholeAnswer($"output: normalised with the unbiased variance (divided by M - 1 = {m - 1}); PyTorch normalises with the biased one (divided by M = {m})",
                () => OpResult.Of(op.Variant(ddof: 1), inputs, dy));
        if (op.Name == "layer_norm" && op.normalizedShape.Length > 1)
            yield return BugHypothesis.InWholeAnswer($"output: normalised over the last dimension only, not over normalized_shape {PoolingWindows.Show(op.normalizedShape)}",
                () => OpResult.Of(op.Variant(block: s => s[s.Rank - 1]), inputs, dy));
        if (op.Name == "layer_norm" && op.normalizedShape.Length < x.Rank - 1)
            yield return BugHypothesis.InWholeAnswer("output: normalised over every dimension but the batch, not over normalized_shape",
                () => OpResult.Of(op.Variant(block: s => s.CountFrom(1)), inputs, dy));
        if (op.Name == "group_norm" && x.Rank >= 2 && op.Groups < x[1])
            yield return BugHypothesis.InWholeAnswer($"output: normalised per channel (instance norm), not per group of {x[1] / Math.Max(op.Groups, 1)} channels",
                () => OpResult.Of(op.Variant(block: s => s.CountFrom(2)), inputs, dy));
        if (op.Name == "group_norm" && op.Groups > 1)
            yield return BugHypothesis.InWholeAnswer($"output: num_groups {op.Groups} ignored: every channel of a sample normalised together",
                () => OpResult.Of(op.Variant(block: s => s.CountFrom(1)), inputs, dy));
        if (op.Name == "instance_norm" && x.Rank >= 2 && x[0] > 1 && op.HasWeight == op.HasBias)
            yield return BugHypothesis.InWholeAnswer("output: normalised with batch statistics (batch norm, over the batch too), not per sample",
                () => OpResult.Of(new BatchNorm(training: true, op.Eps, op.HasWeight), inputs, dy));
    }

    private Normalization Variant(Func<Shape, int>? block = null, bool epsOutside = false, int ddof = 0) =>
        new(Name, normalizedShape, Groups, Eps, HasWeight, HasBias, block ?? this.block, epsOutside || this.epsOutside, ddof + this.ddof);

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>group_norm's number of groups (0 for the others).</summary>
    public int Groups { get; }

    /// <summary>Added to the variance.</summary>
    public double Eps { get; }

    /// <summary>Whether γ is given.</summary>
    public bool HasWeight { get; }

    /// <summary>Whether β is given.</summary>
    public bool HasBias { get; }

    /// <inheritdoc/>
    public OpAttributes Attributes => Name switch
    {
        "layer_norm" => new(("normalized_shape", normalizedShape), ("eps", Eps)),
        "group_norm" => new(("num_groups", Groups), ("eps", Eps)),
        _ => new(("eps", Eps)),
    };

    /// <summary>The attributes, and which of weight and bias are None.</summary>
    public string AttributeText => Attributes + (HasWeight ? "" : ", weight=None") + (HasBias ? "" : ", bias=None");

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; }

    /// <summary>M, the elements normalised together, after checking the input's shape against the op's rules.</summary>
    private int BlockSize(Shape x)
    {
        if (Name == "layer_norm")
        {
            int d = normalizedShape.Length;
            if (x.Rank < d || !x.Slice(x.Rank - d).SequenceEqual(normalizedShape))
                throw new ParameterException("normalized_shape", PoolingWindows.Show(normalizedShape), $"must equal the input's last {d} dimension(s) (input {x})");
            return block?.Invoke(x) ?? normalizedShape.Aggregate(1, (p, v) => p * v);
        }
        if (x.Rank < (Name == "group_norm" ? 2 : 3))
            throw new ParameterException("input.shape", x.ToString(), $"{Name} takes (N, C{(Name == "group_norm" ? ", *" : ", D1, *")})");
        if (Name == "group_norm" && x[1] % Groups != 0)
            throw new ParameterException("num_groups", Groups.ToString(), $"must divide the input's channels, {x[1]}");
        if (Name == "instance_norm" && x.CountFrom(2) < 2)
            throw new ParameterException("input.shape", x.ToString(), "instance_norm needs more than 1 spatial element per channel");
        return block?.Invoke(x) ?? (Name == "group_norm" ? x[1] / Groups * x.CountFrom(2) : x.CountFrom(2));
    }

    /// <summary>The γ and β element that scales and shifts input element e.</summary>
    private Func<int, int> ParameterOf(Shape x)
    {
        if (Name == "layer_norm") { int m = normalizedShape.Aggregate(1, (p, v) => p * v); return e => e % m; }
        int inner = x.CountFrom(2), c = x[1];
        return e => e / inner % c;
    }

    private Shape ParameterShape(Shape x) => Name == "layer_norm" ? Shape.Of(normalizedShape) : Shape.Of(x[1]);

    /// <summary>Per block: μ, var, k = 1/sqrt(var + eps) (or 1/(sqrt(var) + eps)); per element x̂. Shapes checked.</summary>
    private (int M, double[] Mean, double[] Var, double[] K, double[] XHat) Normalise(NamedTensors inputs)
    {
        var x = inputs["input"];
        int m = BlockSize(x.Shape);
        var parameters = ParameterShape(x.Shape);
        foreach (var name in new[] { ("weight", HasWeight), ("bias", HasBias) }.Where(p => p.Item2).Select(p => p.Item1))
            if (inputs[name].Shape != parameters)
                throw new ParameterException($"{name}.shape", inputs[name].Shape.ToString(), $"must be {parameters} ({(Name == "layer_norm" ? "normalized_shape" : "C")})");
        int blocks = x.Count / m;
        var (mean, variance, k, xHat) = (new double[blocks], new double[blocks], new double[blocks], new double[x.Count]);
        var xs = x.Span;
        for (int b = 0; b < blocks; b++)
        {
            var values = xs.Slice(b * m, m);
            mean[b] = OrderedSums.Sum(values) / m;
            double ss = 0;
            foreach (var v in values) ss += (v - mean[b]) * (v - mean[b]);
            variance[b] = ss / (m - ddof);
            k[b] = epsOutside ? 1 / (Math.Sqrt(variance[b]) + Eps) : 1 / Math.Sqrt(variance[b] + Eps);
            for (int i = 0; i < m; i++) xHat[b * m + i] = (values[i] - mean[b]) * k[b];
        }
        return (m, mean, variance, k, xHat);
    }

    /// <summary>γ and β of each input element, their tensors read once per pass (1 and 0 where not given).</summary>
    private (Func<int, double> Gamma, Func<int, double> Beta) Affine(NamedTensors inputs, Shape x)
    {
        var param = ParameterOf(x);
        var (w, b) = (HasWeight ? inputs["weight"] : null, HasBias ? inputs["bias"] : null);
        return (w is null ? _ => 1 : e => w.At(param(e)), b is null ? _ => 0 : e => b.At(param(e)));
    }

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs)
    {
        var x = inputs["input"];
        var (_, _, _, _, xHat) = Normalise(inputs);
        var (gamma, beta) = Affine(inputs, x.Shape);
        return Tensor.Create(x.Shape, e => xHat[e] * gamma(e) + beta(e));
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var x = inputs["input"];
        Tensor.RequireShape("grad_output", gradOutput, x.Shape);
        var (m, mean, variance, k, xHat) = Normalise(inputs);
        var param = ParameterOf(x.Shape);
        var (gamma, _) = Affine(inputs, x.Shape);
        var parameters = ParameterShape(x.Shape);
        var (dx, dw, db) = (new double[x.Count], new double[parameters.Count], new double[parameters.Count]);
        for (int b = 0; b < mean.Length; b++)
        {
            // dk/dvar: -k³/2 for 1/sqrt(var + eps); -k²/(2·sqrt(var)) for 1/(sqrt(var) + eps), whose term is 0 at var = 0 (x = μ).
            double dk = epsOutside ? (variance[b] > 0 ? -k[b] * k[b] / (2 * Math.Sqrt(variance[b])) : 0) : -k[b] * k[b] * k[b] / 2;
            double sumDxHat = 0, sumDxHatCentred = 0;
            for (int e = b * m; e < (b + 1) * m; e++)
            {
                double dxHat = gradOutput.At(e) * gamma(e);
                sumDxHat += dxHat;
                sumDxHatCentred += dxHat * (x.At(e) - mean[b]);
                dw[param(e)] += gradOutput.At(e) * xHat[e];
                db[param(e)] += gradOutput.At(e);
            }
            for (int e = b * m; e < (b + 1) * m; e++)
                dx[e] = k[b] * (gradOutput.At(e) * gamma(e) - sumDxHat / m) + 2 * (x.At(e) - mean[b]) / (m - ddof) * dk * sumDxHatCentred;
        }
        var grads = new List<(string, Tensor)> { ("input", Tensor.Wrap(x.Shape, dx)) };
        if (HasWeight) grads.Add(("weight", Tensor.Wrap(parameters, dw)));
        if (HasBias) grads.Add(("bias", Tensor.Wrap(parameters, db)));
        return new NamedTensors([.. grads]);
    }

    /// <summary>dx = dy·γ·k: the input gradient with the statistics held constant (a known bug).</summary>
    private Tensor WithoutMeanTerms(NamedTensors inputs, Tensor dy)
    {
        var x = inputs["input"];
        var (m, _, _, k, _) = Normalise(inputs);
        var (gamma, _) = Affine(inputs, x.Shape);
        return Tensor.Create(x.Shape, e => dy.At(e) * gamma(e) * k[e / m]);
    }

    /// <summary>
    /// What each element sums: x̂ = (x - μ)·k carries the rounding of x and μ, A = |x̂| + k·(|x| + |μ|); y sums |γ|·A + |β|;
    /// dx cancels to almost nothing in small blocks, so its magnitude is its three terms', k·(|dx̂| + Σ|dx̂|/M + A·Σ(|dx̂|·A)/M);
    /// dγ sums |dy|·A and dβ |dy|.
    /// </summary>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput)
    {
        var x = inputs["input"];
        var (m, mean, _, k, xHat) = Normalise(inputs);
        var param = ParameterOf(x.Shape);
        var (gamma, beta) = Affine(inputs, x.Shape);
        var parameters = ParameterShape(x.Shape);
        var (y, dx, dw, db) = (new double[x.Count], new double[x.Count], new double[parameters.Count], new double[parameters.Count]);
        double A(int e) => Math.Abs(xHat[e]) + k[e / m] * (Math.Abs(x.At(e)) + Math.Abs(mean[e / m]));
        for (int b = 0; b < mean.Length; b++)
        {
            double s1 = 0, s2 = 0;
            for (int e = b * m; e < (b + 1) * m; e++)
            {
                double g = Math.Abs(gradOutput.At(e) * gamma(e));
                y[e] = Math.Abs(gamma(e)) * A(e) + Math.Abs(beta(e));
                (s1, s2) = (s1 + g, s2 + g * A(e));
                dw[param(e)] += Math.Abs(gradOutput.At(e)) * A(e);
                db[param(e)] += Math.Abs(gradOutput.At(e));
            }
            for (int e = b * m; e < (b + 1) * m; e++)
                dx[e] = k[b] * (Math.Abs(gradOutput.At(e) * gamma(e)) + s1 / m + A(e) * s2 / m);
        }
        var grads = new List<(string, Tensor)> { ("input", Tensor.Wrap(x.Shape, dx)) };
        if (HasWeight) grads.Add(("weight", Tensor.Wrap(parameters, dw)));
        if (HasBias) grads.Add(("bias", Tensor.Wrap(parameters, db)));
        return new OpResult(Tensor.Wrap(x.Shape, y), new NamedTensors([.. grads]));
    }

    /// <inheritdoc/>
    public bool IsSmooth => true; // eps > 0: the square root never meets 0

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape)
    {
        var x = inputs["input"].Shape;
        int m = BlockSize(x);
        if (input != "input")
        {
            var param = ParameterOf(x);
            return JacobianStructure.Of(1, _ => 0, (j, _) => param(j)); // each output has one γ and one β
        }
        // An element reaches its whole block: colour by the position within the block.
        return JacobianStructure.ByPlane(m, e => e % m, m, (q, c) => q * m + c, sameRanks: true);
    }

    /// <summary>Name: the centred gradient of a normalised block.</summary>
    public const string BlockSum = "per normalised block sum(dx) = 0";

    /// <summary>Name: the gradient orthogonal to x̂ within a block (exactly 0 only when eps = 0).</summary>
    public const string BlockOrthogonal = "per normalised block sum(dx * x_hat) = 0 (up to the eps term)";

    /// <summary>
    /// Per block Σ dx = 0 and Σ dx·x̂ = k/M·(M - Σx̂²)·Σ(dx̂·x̂), as batch norm's per channel (<see cref="CentredGradient"/>).
    /// </summary>
    public InvariantReport CheckInvariants(NamedTensors inputs, Tensor gradOutput, NamedTensors gradients)
    {
        var r = new InvariantReport.Builder();
        var x = inputs["input"];
        var dx = gradients["input"];
        if (dx.Shape != x.Shape) { r.Violated(BlockSum, $"dx has shape {dx.Shape}, the input {x.Shape}"); return r.Build(); }
        var (m, mean, _, k, xHat) = Normalise(inputs);
        var magnitude = MagnitudesOf(inputs, gradOutput).Grads["input"];
        var (gamma, _) = Affine(inputs, x.Shape);
        for (int b = 0; b < mean.Length; b++)
            CentredGradient.Check(r, BlockSum, BlockOrthogonal, $"block {b}", Enumerable.Range(b * m, m), m, mean[b], k[b], x, e => xHat[e],
                gamma, gradOutput, dx, magnitude);
        return r.Build();
    }
}
