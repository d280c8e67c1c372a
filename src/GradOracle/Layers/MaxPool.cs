using System.Collections.Immutable;
using GradOracle.Checking;
using GradOracle.Geometry;
using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// Max pooling (strided, adaptive or global) with a declared tie policy and NaN rule.
/// Forward takes the maximum of each window; backward sends each window's gradient to its maximum
/// (or maxima, under <see cref="TiePolicy.Split"/> and <see cref="TiePolicy.All"/>), accumulating where
/// windows overlap. -0.0 and +0.0 are a tie.
/// </summary>
public sealed class MaxPool : IOp, IHasInvariants, IHasJacobianStructure, IHasConventions, IHasMagnitudes, IExplainsOutputShape
{
    private readonly string kind;

    private MaxPool(string kind, PoolingWindows windows, TiePolicy tiePolicy, NanRule nanRule)
    {
        this.kind = kind;
        Windows = windows;
        TiePolicy = tiePolicy;
        NanRule = nanRule;
    }

    /// <summary>max_poolNd with PyTorch's parameters (stride defaults to the kernel size).</summary>
    public static MaxPool Create(int rank, int[] kernelSize, int[]? stride = null, int[]? padding = null, int[]? dilation = null,
        bool ceilMode = false, TiePolicy tiePolicy = TiePolicy.First, NanRule nanRule = NanRule.Propagate)
        => new("max_pool", PoolingWindows.Strided(rank, kernelSize, stride, padding, dilation, ceilMode), tiePolicy, nanRule);

    /// <summary>adaptive_max_poolNd to a fixed output size.</summary>
    public static MaxPool Adaptive(int rank, int[] outputSize, TiePolicy tiePolicy = TiePolicy.First, NanRule nanRule = NanRule.Propagate)
        => new("adaptive_max_pool", PoolingWindows.Adaptive(rank, outputSize), tiePolicy, nanRule);

    /// <summary>Global max pooling: one window over each whole plane.</summary>
    public static MaxPool Global(int rank, TiePolicy tiePolicy = TiePolicy.First, NanRule nanRule = NanRule.Propagate)
        => new("global_max_pool", PoolingWindows.Global(rank), tiePolicy, nanRule);

    /// <summary>The same pooling under another tie policy and NaN rule.</summary>
    public MaxPool WithRules(TiePolicy tiePolicy, NanRule nanRule) => new(kind, Windows, tiePolicy, nanRule);

    /// <summary>The window layout.</summary>
    public PoolingWindows Windows { get; }

    /// <inheritdoc/>
    public string OutputShapeRule(NamedTensors inputs) => $"(N, C, *output size), {Windows.SizeRule(inputs["input"].Shape.Slice(2))}";

    /// <summary>The declared tie policy.</summary>
    public TiePolicy TiePolicy { get; }

    /// <summary>The declared NaN rule.</summary>
    public NanRule NanRule { get; }

    /// <inheritdoc/>
    public string Name => $"{kind}{Windows.Rank}d";

    /// <inheritdoc/>
    public OpAttributes Attrs => Windows.Attrs.With(("tie_policy", PoolingRuleNames.Name(TiePolicy)), ("nan_rule", PoolingRuleNames.Name(NanRule)));

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    /// <summary>The geometry for an input of shape (N, C, *spatial).</summary>
    public WindowGeometry GeometryFor(Shape inputShape) => Windows.For(inputShape);

    /// <summary>Forward: pooled values and recorded indices.</summary>
    public MaxPoolResult Run(Tensor input)
    {
        var (g, planes, outShape) = Windows.Begin(input);
        var output = new double[outShape.Count];
        var indices = new long[outShape.Count];
        var x = input.Span;
        Span<int> taps = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]), kernelTaps = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]), winners = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]);
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Slice(p * g.InputPlaneSize, g.InputPlaneSize);
            for (int o = 0; o < g.OutputPlaneSize; o++)
            {
                int n = g.Gather(o, taps, kernelTaps);
                Select(plane, taps[..n], winners, out int recorded, out _);
                output[p * g.OutputPlaneSize + o] = plane[recorded];
                indices[p * g.OutputPlaneSize + o] = recorded;
            }
        }
        return new MaxPoolResult(Tensor.Wrap(outShape, output), new IndexTensor(outShape, ImmutableArray.Create(indices)));
    }

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs) => Run(inputs["input"]).Output;

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var input = inputs["input"];
        var (g, planes, _) = Windows.Begin(input, gradOutput);
        var dx = new double[input.Count];
        var x = input.Span;
        var dy = gradOutput.Span;
        Span<int> taps = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]), kernelTaps = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]), winners = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]);
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Slice(p * g.InputPlaneSize, g.InputPlaneSize);
            var dplane = dx.AsSpan(p * g.InputPlaneSize, g.InputPlaneSize);
            for (int o = 0; o < g.OutputPlaneSize; o++)
            {
                int n = g.Gather(o, taps, kernelTaps);
                int w = Select(plane, taps[..n], winners, out _, out bool shared);
                double share = shared ? dy[p * g.OutputPlaneSize + o] / w : dy[p * g.OutputPlaneSize + o];
                for (int i = 0; i < w; i++) dplane[winners[i]] += share; // += : overlapping windows accumulate
            }
        }
        return NamedTensors.Input(Tensor.Wrap(input.Shape, dx));
    }

    /// <summary>
    /// The positions of one window that receive its gradient under the declared policy and NaN rule, and
    /// the recorded index (the forward's argmax). Returns how many receive it (0 under
    /// <see cref="NanRule.PropagateNone"/> when NaN wins); <paramref name="shared"/>: they share it equally.
    /// </summary>
    internal int Select(ReadOnlySpan<double> plane, ReadOnlySpan<int> taps, Span<int> winners, out int recorded, out bool shared)
    {
        int ties = Maxima(plane, taps, NanRule, winners);
        shared = false;
        if (double.IsNaN(plane[winners[0]]))
        {
            // NaN wins (or, under Ignore, a window of NaNs records its first element). NaN never equals NaN, so
            // NaNs are not ties: the NaN rule alone says which receives; where none or several do, the index is
            // PyTorch's, the last NaN.
            recorded = NanRule is NanRule.Ignore or NanRule.PropagateFirst ? winners[0] : winners[ties - 1];
            switch (NanRule)
            {
                case NanRule.PropagateFirst: return 1;
                case NanRule.PropagateSplit: shared = ties > 1; return ties;
                case NanRule.PropagateNone: return 0;
                default: winners[0] = recorded; return 1;
            }
        }
        if (ties == 1) { recorded = winners[0]; return 1; }
        switch (TiePolicy)
        {
            case TiePolicy.First: recorded = winners[0]; return 1;
            case TiePolicy.Last: recorded = winners[0] = winners[ties - 1]; return 1;
            default: recorded = winners[0]; shared = TiePolicy == TiePolicy.Split; return ties;
        }
    }

    /// <summary>
    /// All maxima of a window in scan order: every tie (by ==, so -0.0 ties +0.0), or where NaN wins (every rule
    /// but <see cref="NanRule.Ignore"/>) every NaN, or for a window with nothing comparable its first tap.
    /// </summary>
    internal static int Maxima(ReadOnlySpan<double> plane, ReadOnlySpan<int> taps, NanRule nanRule, Span<int> maxima)
    {
        int n = 0;
        if (nanRule.NanWins())
        {
            foreach (int t in taps) if (double.IsNaN(plane[t])) maxima[n++] = t;
            if (n > 0) return n;
        }
        double best = double.NaN;
        foreach (int t in taps)
        {
            double v = plane[t];
            if (double.IsNaN(v)) continue;
            if (double.IsNaN(best) || v > best) { best = v; n = 0; maxima[n++] = t; }
            else if (v == best) maxima[n++] = t;
        }
        if (n == 0) maxima[n++] = taps[0]; // all NaN under Ignore: PyTorch-style initial index
        return n;
    }

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) => Windows.Structure(inputs["input"].Shape);

    /// <inheritdoc/>
    public IReadOnlyList<Situation> Situations { get; } = [MaxPoolConventions.Ties, MaxPoolConventions.Nan];

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, string> Choices => new Dictionary<string, string>
    {
        [MaxPoolConventions.Ties.Key] = PoolingRuleNames.Name(TiePolicy), [MaxPoolConventions.Nan.Key] = PoolingRuleNames.Name(NanRule),
    };

    /// <inheritdoc/>
    public IReadOnlyList<string> SituationsAt(NamedTensors inputs) => MaxPoolConventions.SituationsAt(this, inputs);

    /// <inheritdoc/>
    public IOp WithConventions(IReadOnlyDictionary<string, string> choices) => MaxPoolConventions.WithConventions(this, choices);

    /// <inheritdoc/>
    public ConventionJudgement Judge(NamedTensors inputs, Tensor gradOutput, OpResult answer, AnswerComparer compare, IReadOnlyDictionary<string, string> required) =>
        MaxPoolConventions.Judge(this, inputs, gradOutput, answer, compare, required);

    /// <summary>
    /// The output is a selection (magnitude 0: exact); an input's gradient sums the gradients of the windows that may
    /// route to it under any valid choice: those it is a tied maximum of (NaN aside), and those holding it as a NaN. So any
    /// valid routing is measured against the same magnitudes, and an input no window may reach is compared exactly.
    /// </summary>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput)
    {
        var x = inputs["input"];
        var (g, planes, outShape) = Windows.Begin(x, gradOutput);
        var dx = new double[x.Count];
        Span<int> taps = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]), kernelTaps = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]), maxima = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]);
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Span.Slice(p * g.InputPlaneSize, g.InputPlaneSize);
            for (int o = 0; o < g.OutputPlaneSize; o++)
            {
                int n = g.Gather(o, taps, kernelTaps);
                double w = Math.Abs(gradOutput.At(p * g.OutputPlaneSize + o));
                int m = Maxima(plane, taps[..n], NanRule.Ignore, maxima); // the maxima of the numbers (or the first of all-NaN taps)
                for (int k = 0; k < m; k++) if (!double.IsNaN(plane[maxima[k]])) dx[p * g.InputPlaneSize + maxima[k]] += w;
                for (int k = 0; k < n; k++) if (double.IsNaN(plane[taps[k]])) dx[p * g.InputPlaneSize + taps[k]] += w;
            }
        }
        return new OpResult(Tensor.Create(outShape, _ => 0.0), NamedTensors.Input(Tensor.Wrap(x.Shape, dx)));
    }

    /// <inheritdoc/>
    public InvariantReport CheckInvariants(NamedTensors inputs, Tensor gradOutput, NamedTensors gradients)
        => PoolingInvariants.MaxPool(this, inputs["input"], gradOutput, gradients["input"]);
}
