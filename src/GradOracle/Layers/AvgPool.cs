using GradOracle.Checking;
using GradOracle.Geometry;
using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// Average pooling (strided, adaptive or global). Forward divides each window's in-bounds sum by its
/// divisor, exactly as PyTorch computes it: the window clipped to input + padding gives pool_size, then
/// clipped to the input gives the in-bounds count; the divisor is divisor_override if set, else pool_size
/// when count_include_pad, else the in-bounds count. Backward adds dy / divisor to every in-bounds cell
/// of the window: divided, not copied.
/// </summary>
public sealed class AvgPool : IOp, IForwardInto, IHasInvariants, IHasJacobianStructure, IHasMagnitudes, IExplainsOutputShape
{
    private readonly string kind;

    private AvgPool(string kind, PoolingWindows windows, bool countIncludePad, int? divisorOverride)
    {
        if (divisorOverride == 0)
            throw new ParameterException("divisor_override", "0", "must not be zero (PyTorch: divisor must be not zero)");
        this.kind = kind;
        Windows = windows;
        CountIncludePad = countIncludePad;
        DivisorOverride = divisorOverride;
    }

    /// <summary>avg_poolNd with PyTorch's parameters and defaults (count_include_pad true, no override).</summary>
    public static AvgPool Create(int rank, int[] kernelSize, int[]? stride = null, int[]? padding = null, bool ceilMode = false,
        bool countIncludePad = true, int? divisorOverride = null)
        => new("avg_pool", PoolingWindows.StridedUndilated(rank, kernelSize, stride, padding, ceilMode), countIncludePad, divisorOverride);

    /// <summary>adaptive_avg_poolNd to a fixed output size.</summary>
    public static AvgPool Adaptive(int rank, int[] outputSize) => new("adaptive_avg_pool", PoolingWindows.Adaptive(rank, outputSize), true, null);

    /// <summary>Global average pooling (Network in Network): the mean of each whole plane.</summary>
    public static AvgPool Global(int rank) => new("global_avg_pool", PoolingWindows.Global(rank), true, null);

    /// <summary>The window layout.</summary>
    public PoolingWindows Windows { get; }

    /// <inheritdoc/>
    public string OutputShapeRule(NamedTensors inputs) => $"(N, C, *output size), {Windows.SizeRule(inputs["input"].Shape.Slice(2))}";

    /// <summary>Whether padded cells count in the divisor.</summary>
    public bool CountIncludePad { get; }

    /// <summary>A fixed divisor replacing the window count, when set.</summary>
    public int? DivisorOverride { get; }

    /// <inheritdoc/>
    public string Name => $"{kind}{Windows.Rank}d";

    /// <inheritdoc/>
    public OpAttributes Attrs => kind == "avg_pool"
        ? Windows.Attrs.With(("count_include_pad", CountIncludePad), ("divisor_override", DivisorOverride))
        : Windows.Attrs;

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    /// <summary>The divisor of window <paramref name="outputIndex"/> (flat in the output plane).</summary>
    public double Divisor(WindowGeometry g, int outputIndex) =>
        DivisorOverride ?? (CountIncludePad ? g.PaddedWindowSize(outputIndex) : g.InBoundsWindowSize(outputIndex));

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs) => Forward(inputs, null);

    /// <inheritdoc cref="IForwardInto.Forward"/>
    public Tensor Forward(NamedTensors inputs, double[]? output)
    {
        var input = inputs["input"];
        var (g, planes, outShape) = Windows.Begin(input);
        var y = Tensor.OutputArray(outShape, output);
        var x = input.Span;
        Span<int> taps = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]), kernelTaps = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]);
        for (int o = 0; o < g.OutputPlaneSize; o++)
        {
            int n = g.Gather(o, taps, kernelTaps);
            double divisor = Divisor(g, o);
            for (int p = 0; p < planes; p++)
            {
                var plane = x.Slice(p * g.InputPlaneSize, g.InputPlaneSize);
                double sum = 0;
                for (int i = 0; i < n; i++) sum += plane[taps[i]];
                y[p * g.OutputPlaneSize + o] = sum / divisor;
            }
        }
        return Tensor.Wrap(outShape, y);
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var input = inputs["input"];
        var (g, planes, _) = Windows.Begin(input, gradOutput);
        var dx = new double[input.Count];
        var dy = gradOutput.Span;
        Span<int> taps = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]), kernelTaps = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]);
        for (int o = 0; o < g.OutputPlaneSize; o++)
        {
            int n = g.Gather(o, taps, kernelTaps);
            double divisor = Divisor(g, o);
            for (int p = 0; p < planes; p++)
            {
                var dplane = dx.AsSpan(p * g.InputPlaneSize, g.InputPlaneSize);
                double share = dy[p * g.OutputPlaneSize + o] / divisor;
                for (int i = 0; i < n; i++) dplane[taps[i]] += share;
            }
        }
        return NamedTensors.Input(Tensor.Wrap(input.Shape, dx));
    }

    /// <inheritdoc/>
    public bool IsSmooth => true; // no max, no threshold: differentiable at every finite input

    /// <inheritdoc/>
    public bool IsAffineIn(string input) => true; // window sums over fixed divisors: linear

    /// <inheritdoc/>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput) => Magnitudes.Multilinear(this, inputs, gradOutput);

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) => Windows.Structure(inputs["input"].Shape);

    /// <inheritdoc/>
    public InvariantReport CheckInvariants(NamedTensors inputs, Tensor gradOutput, NamedTensors gradients)
        => PoolingInvariants.AvgPool(this, inputs["input"], gradOutput, gradients["input"]);
}
