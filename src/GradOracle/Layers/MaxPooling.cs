using System.Collections.Immutable;
using GradOracle.Checking;
using GradOracle.Geometry;
using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>Which of several tied maxima of a window receives its gradient.</summary>
public enum TiePolicy
{
    /// <summary>The first in row-major scan order (PyTorch, Caffe, TF CPU, ONNX Runtime, MXNet).</summary>
    First,
    /// <summary>The last in scan order.</summary>
    Last,
    /// <summary>Equal shares among all tied maxima (sum-preserving).</summary>
    Split,
    /// <summary>The full gradient to every tied maximum (Theano; the gradient's sum grows).</summary>
    All,
}

/// <summary>How max pooling treats NaN.</summary>
public enum NanRule
{
    /// <summary>NaN is the maximum; of several NaNs the last in scan order is recorded (PyTorch).</summary>
    Propagate,
    /// <summary>NaN never wins a comparison (Caffe); a window of NaNs only records its first element.</summary>
    Ignore,
}

/// <summary>The output of max pooling with the recorded argmax of each window.</summary>
/// <param name="Output">Pooled values, (N, C, *output size).</param>
/// <param name="Indices">Per window, the recorded input position as a flat index into its (N, C) input plane, as PyTorch returns it.</param>
public sealed record MaxPoolResult(Tensor Output, IndexTensor Indices);

/// <summary>
/// Max pooling (strided, adaptive or global) with a declared tie policy and NaN rule.
/// Forward takes the maximum of each window; backward sends each window's gradient to its maximum
/// (or maxima, under <see cref="TiePolicy.Split"/> and <see cref="TiePolicy.All"/>), accumulating where
/// windows overlap. -0.0 and +0.0 are a tie.
/// </summary>
public sealed class MaxPool : IOp, IHasInvariants, IHasJacobianStructure
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

    /// <summary>The window layout.</summary>
    public PoolingWindows Windows { get; }

    /// <summary>The declared tie policy.</summary>
    public TiePolicy TiePolicy { get; }

    /// <summary>The declared NaN rule.</summary>
    public NanRule NanRule { get; }

    /// <inheritdoc/>
    public string Name => $"{kind}{Windows.Rank}d";

    /// <inheritdoc/>
    public OpAttributes Attrs => Windows.Attrs.With(
        ("tie_policy", TiePolicy.ToString().ToLowerInvariant()), ("nan_rule", NanRule.ToString().ToLowerInvariant()));

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
        Span<int> taps = stackalloc int[g.MaxWindowSize], kernelTaps = stackalloc int[g.MaxWindowSize], winners = stackalloc int[g.MaxWindowSize];
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Slice(p * g.InputPlaneSize, g.InputPlaneSize);
            for (int o = 0; o < g.OutputPlaneSize; o++)
            {
                int n = g.Gather(o, taps, kernelTaps);
                Select(plane, taps[..n], winners, out int recorded);
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
        Span<int> taps = stackalloc int[g.MaxWindowSize], kernelTaps = stackalloc int[g.MaxWindowSize], winners = stackalloc int[g.MaxWindowSize];
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Slice(p * g.InputPlaneSize, g.InputPlaneSize);
            var dplane = dx.AsSpan(p * g.InputPlaneSize, g.InputPlaneSize);
            for (int o = 0; o < g.OutputPlaneSize; o++)
            {
                int n = g.Gather(o, taps, kernelTaps);
                int w = Select(plane, taps[..n], winners, out _);
                double share = TiePolicy == TiePolicy.Split ? dy[p * g.OutputPlaneSize + o] / w : dy[p * g.OutputPlaneSize + o];
                for (int i = 0; i < w; i++) dplane[winners[i]] += share; // += : overlapping windows accumulate
            }
        }
        return NamedTensors.Input(Tensor.Wrap(input.Shape, dx));
    }

    /// <summary>
    /// The positions of one window that receive its gradient under the declared policy and NaN rule, and
    /// the recorded index (the forward's argmax). Returns how many receive it.
    /// </summary>
    internal int Select(ReadOnlySpan<double> plane, ReadOnlySpan<int> taps, Span<int> winners, out int recorded)
    {
        int ties = Maxima(plane, taps, NanRule, winners);
        if (ties == 1 || double.IsNaN(plane[winners[0]]))
        {
            // One maximum, or NaNs: under Propagate the last NaN wins whatever the tie policy (NaN never
            // equals NaN, so NaNs are not ties); under Ignore an all-NaN window records its first element.
            recorded = NanRule == NanRule.Propagate && double.IsNaN(plane[winners[ties - 1]]) ? winners[ties - 1] : winners[0];
            winners[0] = recorded;
            return 1;
        }
        switch (TiePolicy)
        {
            case TiePolicy.First: recorded = winners[0]; return 1;
            case TiePolicy.Last: recorded = winners[0] = winners[ties - 1]; return 1;
            default: recorded = winners[0]; return ties;
        }
    }

    /// <summary>
    /// All maxima of a window in scan order: every tie (by ==, so -0.0 ties +0.0), or under
    /// <see cref="NanRule.Propagate"/> every NaN, or for a window with nothing comparable its first tap.
    /// </summary>
    internal static int Maxima(ReadOnlySpan<double> plane, ReadOnlySpan<int> taps, NanRule nanRule, Span<int> maxima)
    {
        int n = 0;
        if (nanRule == NanRule.Propagate)
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
    public InvariantReport CheckInvariants(NamedTensors inputs, Tensor gradOutput, NamedTensors gradients)
        => PoolingInvariants.MaxPool(this, inputs["input"], gradOutput, gradients["input"]);
}
