using System.Collections.Immutable;

namespace GradOracle.Geometry;

/// <summary>
/// Windows over the spatial dimensions of one (N, C) plane, for pooling and convolution alike: output
/// sizes, which input positions each window reads, in PyTorch's row-major scan order, and the counts
/// average pooling divides by. No layer re-derives this index math.
/// </summary>
public sealed class WindowGeometry
{
    private readonly int[] inputStrides;
    private readonly int[] outputStrides;
    private readonly int[] tapStrides;

    /// <summary>Composes per-axis windows (axis 0 is the slowest in the row-major plane).</summary>
    public WindowGeometry(IEnumerable<AxisWindows> axes)
    {
        Axes = axes.ToImmutableArray();
        if (Axes.Length == 0) throw new ArgumentException("a geometry needs at least one spatial axis", nameof(axes));
        InputSize = Axes.Select(a => a.InputSize).ToImmutableArray();
        OutputSize = Axes.Select(a => a.OutputSize).ToImmutableArray();
        inputStrides = RowMajorStrides(InputSize);
        outputStrides = RowMajorStrides(OutputSize);
        tapStrides = RowMajorStrides(Axes.Select(a => a.MaxTaps).ToImmutableArray());
        InputPlaneSize = Checked("input", InputSize, "an input plane");
        OutputPlaneSize = Checked("output_size", OutputSize, "an output plane");
        MaxWindowSize = Checked("kernel_size", Axes.Select(a => a.MaxTaps).ToImmutableArray(), "one window");
        // The gather table holds every window's in-bounds taps; per axis they are independent, so the total is a product of sums.
        long taps = Limits.Product(Axes.Select(ax => Enumerable.Range(0, ax.OutputSize).Sum(o => (long)ax.InBoundsTapCount(o))));
        if (taps > TapsPerElement * Limits.Current.MaxElements)
            throw new ParameterException("window", $"[{string.Join(", ", Axes.Select(a => a.MaxTaps))}] taps",
                $"the windows of one plane would read {taps:N0} input positions together, more than {TapsPerElement} per allowed element " +
                $"({TapsPerElement * Limits.Current.MaxElements:N0}; --max-elements raises it)");
    }

    /// <summary>
    /// Whether buffers of <see cref="MaxWindowSize"/> taps may live on the stack: only while small, since a window may
    /// hold millions of taps (global pooling of a large plane) and a thread's stack is a megabyte or so.
    /// </summary>
    public bool TapsFitStack => MaxWindowSize <= 1024;

    /// <summary>How many window taps one plane's gather table may hold per element of <see cref="Limits.MaxElements"/>.</summary>
    public const int TapsPerElement = 16;

    private static int Checked(string parameter, IReadOnlyList<int> sizes, string what)
    {
        long n = Limits.Product(sizes.Select(x => (long)x));
        Limits.CheckElements(parameter, $"[{string.Join(", ", sizes)}]", n, what);
        return (int)n;
    }

    /// <summary>Strided windows on every axis (see <see cref="AxisWindows.Strided"/>), with symmetric padding.</summary>
    public static WindowGeometry Strided(ReadOnlySpan<int> inputSize, ReadOnlySpan<int> kernel, ReadOnlySpan<int> stride,
        ReadOnlySpan<int> padding, ReadOnlySpan<int> dilation, bool ceilMode)
    {
        var axes = new AxisWindows[inputSize.Length];
        for (int i = 0; i < axes.Length; i++)
            axes[i] = AxisWindows.Strided(i, inputSize[i], kernel[i], stride[i], padding[i], padding[i], dilation[i], ceilMode);
        return new WindowGeometry(axes);
    }

    /// <summary>Adaptive windows on every axis (see <see cref="AxisWindows.Adaptive"/>).</summary>
    public static WindowGeometry Adaptive(ReadOnlySpan<int> inputSize, ReadOnlySpan<int> outputSize)
    {
        if (outputSize.Length != inputSize.Length)
            throw new ParameterException("output_size", $"[{string.Join(", ", outputSize.ToArray())}]", $"needs {inputSize.Length} entries, one per spatial dimension");
        var axes = new AxisWindows[inputSize.Length];
        for (int i = 0; i < axes.Length; i++) axes[i] = AxisWindows.Adaptive(i, inputSize[i], outputSize[i]);
        return new WindowGeometry(axes);
    }

    /// <summary>The per-axis windows.</summary>
    public ImmutableArray<AxisWindows> Axes { get; }

    /// <summary>Spatial rank.</summary>
    public int Rank => Axes.Length;

    /// <summary>Spatial input size.</summary>
    public ImmutableArray<int> InputSize { get; }

    /// <summary>Spatial output size.</summary>
    public ImmutableArray<int> OutputSize { get; }

    /// <summary>Elements of one input plane.</summary>
    public int InputPlaneSize { get; }

    /// <summary>Elements of one output plane.</summary>
    public int OutputPlaneSize { get; }

    /// <summary>The most taps any window has (the kernel volume for strided windows): the size buffers for <see cref="Gather"/> need.</summary>
    public int MaxWindowSize { get; }

    /// <summary>
    /// Writes the in-bounds taps of window <paramref name="outputIndex"/> (flat in the output plane), in
    /// row-major scan order: <paramref name="inputIndex"/> gets each tap's flat index in the input plane,
    /// <paramref name="tapIndex"/> its flat index in the kernel (for weights). Returns the count.
    /// </summary>
    public int Gather(int outputIndex, Span<int> inputIndex, Span<int> tapIndex)
    {
        // Every pass of a check gathers the same windows: they are computed once and copied from then on.
        var t = table ?? BuildTable();
        int from = t.First[outputIndex], n = t.First[outputIndex + 1] - from;
        t.Inputs.AsSpan(from, n).CopyTo(inputIndex);
        t.Kernel.AsSpan(from, n).CopyTo(tapIndex);
        return n;
    }

    private sealed record Table(int[] First, int[] Inputs, int[] Kernel);

    private Table? table;

    private Table BuildTable()
    {
        var first = new int[OutputPlaneSize + 1];
        var inputs = new List<int>();
        var kernel = new List<int>();
        Span<int> a = TapsFitStack ? stackalloc int[MaxWindowSize] : new int[MaxWindowSize];
        Span<int> k = TapsFitStack ? stackalloc int[MaxWindowSize] : new int[MaxWindowSize];
        for (int o = 0; o < OutputPlaneSize; o++)
        {
            int n = Compute(o, a, k);
            for (int j = 0; j < n; j++) { inputs.Add(a[j]); kernel.Add(k[j]); }
            first[o + 1] = inputs.Count;
        }
        return table = new Table(first, inputs.ToArray(), kernel.ToArray());
    }

    private int Compute(int outputIndex, Span<int> inputIndex, Span<int> tapIndex)
    {
        int rank = Rank;
        Span<int> first = stackalloc int[rank];
        Span<int> count = stackalloc int[rank];
        Span<int> at = stackalloc int[rank];
        int rest = outputIndex;
        for (int a = 0; a < rank; a++)
        {
            int o = rest / outputStrides[a];
            rest -= o * outputStrides[a];
            var ax = Axes[a];
            // In-bounds taps of a window form one run j = first .. first+count-1.
            long start = ax.Start(o), step = ax.Step, taps = ax.TapCount(o);
            long j0 = start >= 0 ? 0 : (-start + step - 1) / step;
            long j1 = Math.Min(taps, (ax.InputSize - start + step - 1) / step); // the first tap at or past the input's end
            if (j1 <= j0) return 0;
            first[a] = (int)j0;
            count[a] = (int)(j1 - j0);
            at[a] = 0;
        }

        int n = 0;
        while (true)
        {
            int inFlat = 0, tapFlat = 0;
            for (int a = 0; a < rank; a++)
            {
                int j = first[a] + at[a];
                var ax = Axes[a];
                inFlat += (ax.Start(Coordinate(outputIndex, a)) + j * ax.Step) * inputStrides[a];
                tapFlat += j * tapStrides[a];
            }
            inputIndex[n] = inFlat;
            tapIndex[n] = tapFlat;
            n++;
            int d = rank - 1;
            while (d >= 0 && ++at[d] == count[d]) { at[d] = 0; d--; }
            if (d < 0) return n;
        }
    }

    /// <summary>Whether some input element lies in two or more windows (only then can windows overwrite each other's gradient).</summary>
    public bool WindowsOverlap
    {
        get
        {
            var covered = new int[InputPlaneSize];
            var taps = new int[MaxWindowSize];
            var kt = new int[MaxWindowSize];
            for (int o = 0; o < OutputPlaneSize; o++)
            {
                int n = Gather(o, taps, kt);
                for (int k = 0; k < n; k++)
                    if (++covered[taps[k]] > 1) return true;
            }
            return false;
        }
    }

    /// <summary>Product over axes of the taps inside the input or its padding: PyTorch's average-pool <c>pool_size</c>.</summary>
    public int PaddedWindowSize(int outputIndex) => ProductOverAxes(outputIndex, static (ax, o) => ax.PaddedTapCount(o));

    /// <summary>Number of in-bounds taps of a window.</summary>
    public int InBoundsWindowSize(int outputIndex) => ProductOverAxes(outputIndex, static (ax, o) => ax.InBoundsTapCount(o));

    /// <summary>Output coordinate of window <paramref name="outputIndex"/> along <paramref name="axis"/>.</summary>
    public int Coordinate(int outputIndex, int axis) => outputIndex / outputStrides[axis] % OutputSize[axis];

    /// <summary>Spatial coordinates of a flat index in the input plane.</summary>
    public int[] InputCoordinates(int inputIndex) => Unflatten(inputIndex, inputStrides, InputSize);

    /// <summary>Spatial coordinates of a flat index in the output plane.</summary>
    public int[] OutputCoordinates(int outputIndex) => Unflatten(outputIndex, outputStrides, OutputSize);

    private int ProductOverAxes(int outputIndex, Func<AxisWindows, int, int> perAxis)
    {
        int p = 1;
        for (int a = 0; a < Rank; a++) p *= perAxis(Axes[a], Coordinate(outputIndex, a));
        return p;
    }

    private static int[] Unflatten(int flat, int[] strides, ImmutableArray<int> sizes)
    {
        var c = new int[strides.Length];
        for (int a = 0; a < c.Length; a++) c[a] = flat / strides[a] % sizes[a];
        return c;
    }

    private static int[] RowMajorStrides(IReadOnlyList<int> sizes)
    {
        var s = new int[sizes.Count];
        int acc = 1;
        for (int a = sizes.Count - 1; a >= 0; a--) { s[a] = acc; acc *= sizes[a]; }
        return s;
    }

}
