using GradOracle.Geometry;
using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>How a pooling layer lays its windows over the spatial dimensions.</summary>
public abstract class PoolingWindows
{
    private PoolingWindows(int rank) => Rank = rank;

    /// <summary>Spatial rank (1, 2 or 3).</summary>
    public int Rank { get; }

    /// <summary>The geometry for a given spatial input size.</summary>
    public abstract WindowGeometry For(ReadOnlySpan<int> inputSize);

    /// <summary>The window attributes by PyTorch's names (dilation only where the layer has one).</summary>
    public abstract OpAttributes Attributes { get; }

    /// <summary>PyTorch's output size of these windows at a spatial input size, as formulas with the values filled in.</summary>
    public abstract string SizeRule(ReadOnlySpan<int> inputSize);

    /// <summary>Whether this is global pooling (adaptive to output size 1 on every axis).</summary>
    public virtual bool IsGlobal => false;

    /// <summary>The attributes of strided windows, as a descriptor lists them (dilation where the layer has one; padding where it pads).</summary>
    public static OpAttribute[] StridedAttributes(bool dilated, bool padded = true) =>
    [
        new("kernel_size", "a positive integer or one per spatial dimension"),
        new("stride", "a positive integer or one per spatial dimension", "None (the kernel size)"),
        .. padded ? [new OpAttribute("padding", "a non-negative integer or one per spatial dimension, at most kernel_size/2", "0")] : Array.Empty<OpAttribute>(),
        .. dilated ? [new OpAttribute("dilation", "a positive integer or one per spatial dimension", "1")] : Array.Empty<OpAttribute>(),
        new("ceil_mode", "true or false: round the output size up", "False"),
    ];

    /// <summary>Adaptive pooling's one attribute.</summary>
    public static OpAttribute OutputSizeAttribute { get; } = new("output_size", "a positive integer or one per spatial dimension");

    /// <summary>libtorch's call for a pooling op of these windows: global pooling is adaptive pooling to size 1.</summary>
    public TorchEquivalent TorchEquivalent(string name, OpAttributes attributes) => IsGlobal
        ? new(GlobalTorchName(name), new OpAttributes(("output_size", Enumerable.Repeat(1, Rank).ToArray())))
        : new(name, attributes);

    /// <summary>libtorch's function for global pooling (global_max_pool2d: adaptive_max_pool2d).</summary>
    public static string GlobalTorchName(string name) => "adaptive_" + name["global_".Length..];

    /// <summary>Strided windows with PyTorch's names and defaults (stride defaults to the kernel size).</summary>
    /// <param name="rank">Spatial rank, 1 to 3.</param>
    /// <param name="kernelSize">One value for every axis, or one per axis.</param>
    /// <param name="stride">Defaults to <paramref name="kernelSize"/>.</param>
    /// <param name="padding">Defaults to 0; at most <c>kernel_size/2</c> whatever the dilation, as PyTorch requires.</param>
    /// <param name="dilation">Defaults to 1.</param>
    /// <param name="ceilMode">Round the output size up; the last window must still start inside the input or the left padding.</param>
    public static PoolingWindows Strided(int rank, int[] kernelSize, int[]? stride = null, int[]? padding = null, int[]? dilation = null, bool ceilMode = false)
        => new StridedWindows(rank, kernelSize, stride, padding, dilation, ceilMode);

    /// <summary>Strided windows of a layer without a dilation parameter (average and stochastic pooling).</summary>
    internal static PoolingWindows StridedUndilated(int rank, int[] kernelSize, int[]? stride, int[]? padding, bool ceilMode)
        => new StridedWindows(rank, kernelSize, stride, padding, null, ceilMode) { HasDilation = false };

    /// <summary>PyTorch's adaptive windows for a fixed output size.</summary>
    public static PoolingWindows Adaptive(int rank, int[] outputSize) => new AdaptiveWindows(rank, Expand("output_size", outputSize, rank, 1));

    /// <summary>One window over the whole plane (global pooling: adaptive to output size 1).</summary>
    public static PoolingWindows Global(int rank) => new AdaptiveWindows(rank, Enumerable.Repeat(1, CheckRank(rank)).ToArray(), global: true);

    /// <summary>A parameter given as one value or one per axis, expanded to one per axis.</summary>
    internal static int[] Expand(string name, int[] values, int rank, int minimum)
    {
        if (values.Length != 1 && values.Length != rank)
            throw new ParameterException(name, Show(values), $"needs 1 or {rank} values for a {rank}-d op");
        var v = values.Length == 1 ? Enumerable.Repeat(values[0], rank).ToArray() : (int[])values.Clone();
        for (int i = 0; i < v.Length; i++)
            if (v[i] < minimum)
                throw new ParameterException($"{name}[{i}]", v[i].ToString(), $"must be at least {minimum}");
        return v;
    }

    internal static int CheckRank(int rank) =>
        rank is >= 1 and <= 3 ? rank : throw new ParameterException("rank", rank.ToString(), "pooling supports spatial ranks 1, 2 and 3");

    internal static string Show(int[] v) => v.Length == 1 ? v[0].ToString() : "[" + string.Join(", ", v) + "]";

    /// <summary>Input (N, C, *spatial): checks the rank and returns (planes, spatial size).</summary>
    internal (int Planes, int[] Spatial) Planes(Shape input)
    {
        if (input.Rank != Rank + 2)
            throw new ParameterException("input.shape", input.ToString(), $"a {Rank}-d pooling layer takes (N, C, {string.Join(", ", Enumerable.Range(1, Rank).Select(i => "D" + i))}): rank {Rank + 2}");
        return (input[0] * input[1], input.Slice(2));
    }

    /// <summary>The geometry for an input of shape (N, C, *spatial).</summary>
    public WindowGeometry For(Shape inputShape) => For(Planes(inputShape).Spatial);

    /// <summary>
    /// Everything one forward or backward pass over <paramref name="input"/> needs: the geometry, the number
    /// of (N, C) planes and the output shape; checks <paramref name="gradOutput"/>'s shape when given.
    /// </summary>
    internal PoolingPass Begin(Tensor input, Tensor? gradOutput = null)
    {
        var (planes, spatial) = Planes(input.Shape);
        var g = For(spatial);
        var outShape = OutputShape(input.Shape, g);
        if (gradOutput is not null) Tensor.RequireShape("grad_output", gradOutput, outShape);
        return new PoolingPass(g, planes, outShape);
    }

    /// <summary>The Jacobian's sparsity for an input of the given shape: planes are independent; within one, windows.</summary>
    internal JacobianStructure Structure(Shape inputShape)
    {
        var g = For(inputShape);
        var w = JacobianStructure.Windows(g);
        return w.Structure(w.Colours, e => w.ColourOf(e % g.InputPlaneSize), k => k, (q, _) => q * g.InputPlaneSize);
    }

    /// <summary>(N, C, *output spatial size) for an input of the given shape.</summary>
    internal static Shape OutputShape(Shape input, WindowGeometry g) =>
        Shape.Of(new[] { input[0], input[1] }.Concat(g.OutputSize).ToArray());

    private sealed class StridedWindows : PoolingWindows
    {
        private readonly int[] kernel, stride, padding, dilation;
        private readonly bool ceil;

        public StridedWindows(int rank, int[] kernelSize, int[]? stride, int[]? padding, int[]? dilation, bool ceilMode) : base(CheckRank(rank))
        {
            kernel = Expand("kernel_size", kernelSize, rank, 1);
            this.stride = stride is null || stride.Length == 0 ? (int[])kernel.Clone() : Expand("stride", stride, rank, 1);
            this.padding = Expand("padding", padding ?? [0], rank, 0);
            this.dilation = Expand("dilation", dilation ?? [1], rank, 1);
            ceil = ceilMode;
            for (int i = 0; i < rank; i++)
            {
                // PyTorch checks kernel_size/2, not half the dilated kernel: libtorch 2.10 refuses k=3, p=2, d=2 (docs/libtorch.md).
                int limit = kernel[i] / 2;
                if (this.padding[i] > limit)
                    throw new ParameterException($"padding[{i}]", this.padding[i].ToString(),
                        $"must be at most half the kernel, kernel_size/2 = {kernel[i]}/2 = {limit}, whatever the dilation (PyTorch's limit)");
            }
        }

        // The last geometry, reused while the input size stays the same (every pass of a gradient check).
        private WindowGeometry? last;

        public override WindowGeometry For(ReadOnlySpan<int> inputSize)
        {
            if (last is { } l && l.InputSize.AsSpan().SequenceEqual(inputSize)) return l;
            var g = WindowGeometry.Strided(inputSize, kernel, stride, padding, dilation, ceil);
            // With dilation a window can straddle the input and hit only padding; PyTorch then emits -inf
            // with an index outside the plane. We refuse such a geometry instead of inventing a value.
            Span<int> a = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]), b = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]);
            for (int o = 0; o < g.OutputPlaneSize; o++)
                if (g.Gather(o, a, b) == 0)
                    throw new ParameterException("dilation", Show(dilation),
                        $"with padding {Show(padding)} output window ({string.Join(", ", g.OutputCoordinates(o))}) covers no input element");
            return last = g;
        }

        public bool HasDilation { get; init; } = true;

        public override string SizeRule(ReadOnlySpan<int> inputSize)
        {
            var parts = new List<string>();
            for (int i = 0; i < Rank; i++)
                parts.Add($"dimension {i + 2}: {AxisWindows.SizeFormula(inputSize[i], kernel[i], stride[i], padding[i], padding[i], dilation[i], ceil)}");
            return $"{(ceil ? "ceil" : "floor")}((in + 2·padding - dilation·(kernel_size - 1) - 1) / stride) + 1{(ceil ? " (ceil_mode)" : "")} per spatial dimension: " + string.Join("; ", parts);
        }

        public override OpAttributes Attributes => new(("kernel_size", kernel), ("stride", stride), ("padding", padding),
            ("dilation", HasDilation ? dilation : null), ("ceil_mode", ceil));
    }

    private sealed class AdaptiveWindows(int rank, int[] outputSize, bool global = false) : PoolingWindows(rank)
    {
        public override WindowGeometry For(ReadOnlySpan<int> inputSize) => WindowGeometry.Adaptive(inputSize, outputSize);

        public override bool IsGlobal => global;

        public override string SizeRule(ReadOnlySpan<int> inputSize) =>
            global ? "global pooling gives one value per plane: output size 1 in every spatial dimension" : $"adaptive pooling's output size is output_size = [{string.Join(", ", outputSize)}]";

        public override OpAttributes Attributes => global ? OpAttributes.None : new(("output_size", outputSize));
    }
}

/// <summary>One pass of a pooling layer over an input: its geometry, (N, C) plane count and output shape.</summary>
internal readonly record struct PoolingPass(WindowGeometry Geometry, int Planes, Shape OutputShape);
