namespace GradOracle.Geometry;

/// <summary>
/// The windows along one spatial axis. Window <c>o</c> has taps at <c>Start(o) + j*Step</c> for
/// <c>j = 0 .. TapCount(o)-1</c>; taps outside <c>0 .. InputSize-1</c> fall in the padding.
/// </summary>
public sealed class AxisWindows
{
    private readonly int[] starts;
    private readonly int[] tapCounts;

    private AxisWindows(int inputSize, int[] starts, int[] tapCounts, int step, int paddedLimit)
    {
        InputSize = inputSize;
        this.starts = starts;
        this.tapCounts = tapCounts;
        Step = step;
        PaddedLimit = paddedLimit;
        MaxTaps = tapCounts.Length == 0 ? 0 : tapCounts.Max();
    }

    /// <summary>Input length along this axis.</summary>
    public int InputSize { get; }

    /// <summary>Number of windows (the output length).</summary>
    public int OutputSize => starts.Length;

    /// <summary>Distance between taps (the dilation; 1 for adaptive windows).</summary>
    public int Step { get; }

    /// <summary>Input size plus the padding after it: taps at or beyond it lie past the padding (ceil_mode).</summary>
    public int PaddedLimit { get; }

    /// <summary>The largest tap count of any window (the kernel size for strided windows).</summary>
    public int MaxTaps { get; }

    /// <summary>Position of window <paramref name="o"/>'s first tap (negative inside the left padding).</summary>
    public int Start(int o) => starts[o];

    /// <summary>Number of taps of window <paramref name="o"/>.</summary>
    public int TapCount(int o) => tapCounts[o];

    /// <summary>Taps of window <paramref name="o"/> inside the input or its padding (PyTorch's average-pool pool_size factor).</summary>
    public int PaddedTapCount(int o) => CountTaps(o, int.MinValue, PaddedLimit);

    /// <summary>Taps of window <paramref name="o"/> inside the input.</summary>
    public int InBoundsTapCount(int o) => CountTaps(o, 0, InputSize);

    // Closed form: the taps j with lo <= start + j*step < hi, in long (a window may hold 2^31 taps).
    private int CountTaps(int o, long lo, long hi)
    {
        long start = starts[o], step = Step;
        long from = Math.Max(0, CeilDiv(lo - start, step));
        long to = Math.Min(tapCounts[o], CeilDiv(hi - start, step));
        return (int)Math.Max(0, to - from);
    }

    private static long CeilDiv(long a, long b) => a >= 0 ? (a + b - 1) / b : -(-a / b);

    /// <summary>
    /// Strided windows (pooling and convolution), PyTorch's output size:
    /// <c>out = floor((in + pad_before + pad_after - dilation*(kernel-1) - 1 + (ceil_mode ? stride-1 : 0)) / stride) + 1</c>,
    /// and in ceil mode the last window must start inside the input or the left padding.
    /// </summary>
    /// <param name="axis">Axis number, used in error messages as <c>kernel_size[axis]</c> and so on.</param>
    /// <param name="inputSize">Input length.</param>
    /// <param name="kernel">Taps per window.</param>
    /// <param name="stride">Distance between window starts.</param>
    /// <param name="padBefore">Implicit padding before the input.</param>
    /// <param name="padAfter">Implicit padding after the input.</param>
    /// <param name="dilation">Distance between taps.</param>
    /// <param name="ceilMode">Round the output size up.</param>
    public static AxisWindows Strided(int axis, int inputSize, int kernel, int stride, int padBefore, int padAfter, int dilation, bool ceilMode)
    {
        if (kernel < 1) throw new ParameterException($"kernel_size[{axis}]", kernel.ToString(), "must be at least 1");
        if (stride < 1) throw new ParameterException($"stride[{axis}]", stride.ToString(), "must be at least 1");
        if (dilation < 1) throw new ParameterException($"dilation[{axis}]", dilation.ToString(), "must be at least 1");
        if (padBefore < 0 || padAfter < 0)
            throw new ParameterException($"padding[{axis}]", Math.Min(padBefore, padAfter).ToString(), "must be at least 0");
        if (inputSize < 1) throw new ParameterException($"input spatial size[{axis}]", inputSize.ToString(), "must be at least 1");

        // In long: kernels, dilations and paddings near int.MaxValue must give PyTorch's answer, not a wrapped one.
        long span = (long)dilation * (kernel - 1) + 1;
        long padded = (long)inputSize + padBefore + padAfter;
        long numerator = padded - span + (ceilMode ? stride - 1 : 0);
        long outputSize = (long)Math.Floor(numerator / (double)stride) + 1;
        if (ceilMode && outputSize > 0 && (outputSize - 1) * stride >= (long)inputSize + padBefore)
            outputSize--;
        if (outputSize < 1)
            throw new ParameterException($"kernel_size[{axis}]", kernel.ToString(),
                $"with dilation {dilation} the window spans {span} positions, more than the padded input " +
                $"({inputSize} + {padBefore} + {padAfter} = {padded}): the output would be empty");
        Limits.CheckElements($"padding[{axis}]", padBefore.ToString(), outputSize, $"the output along spatial axis {axis}");
        // A window's starts and taps must stay ints: a window never starts past the padded input.
        if (padded > int.MaxValue || span > int.MaxValue)
            throw new ParameterException($"padding[{axis}]", padBefore.ToString(), $"the padded input ({padded}) or the window's span ({span}) passes int.MaxValue positions");

        var starts = new int[outputSize];
        var taps = new int[outputSize];
        for (int o = 0; o < outputSize; o++)
        {
            starts[o] = (int)((long)o * stride - padBefore);
            taps[o] = kernel;
        }
        return new AxisWindows(inputSize, starts, taps, dilation, inputSize + padAfter);
    }

    /// <summary>
    /// PyTorch's output size for strided windows as a formula with the values filled in, e.g.
    /// <c>floor((7 + 2·1 - 1·(3 - 1) - 1) / 2) + 1 = 4</c>.
    /// </summary>
    public static string SizeFormula(int inputSize, int kernel, int stride, int padBefore, int padAfter, int dilation, bool ceilMode)
    {
        string pads = padBefore == padAfter ? $"2·{padBefore}" : $"{padBefore} + {padAfter}";
        long numerator = (long)inputSize + padBefore + padAfter - (long)dilation * (kernel - 1) - 1;
        long size = (long)(ceilMode ? Math.Ceiling(numerator / (double)stride) : Math.Floor(numerator / (double)stride)) + 1;
        string text = $"{(ceilMode ? "ceil" : "floor")}(({inputSize} + {pads} - {dilation}·({kernel} - 1) - 1) / {stride}) + 1";
        if (ceilMode && size > 0 && (size - 1) * stride >= (long)inputSize + padBefore)
            return $"{text} - 1 = {size - 1} (ceil mode drops a last window that would start in the right padding)";
        return $"{text} = {size}";
    }

    /// <summary>Adaptive windows (PyTorch's AdaptivePooling.h): window <c>o</c> covers <c>[floor(o*in/out), ceil((o+1)*in/out))</c>.</summary>
    public static AxisWindows Adaptive(int axis, int inputSize, int outputSize)
    {
        if (inputSize < 1) throw new ParameterException($"input spatial size[{axis}]", inputSize.ToString(), "must be at least 1");
        if (outputSize < 1) throw new ParameterException($"output_size[{axis}]", outputSize.ToString(), "must be at least 1");
        Limits.CheckElements($"output_size[{axis}]", outputSize.ToString(), outputSize, $"the output along spatial axis {axis}");
        var starts = new int[outputSize];
        var taps = new int[outputSize];
        for (int o = 0; o < outputSize; o++)
        {
            long start = (long)o * inputSize / outputSize;
            long end = ((long)(o + 1) * inputSize + outputSize - 1) / outputSize;
            starts[o] = (int)start;
            taps[o] = (int)(end - start);
        }
        return new AxisWindows(inputSize, starts, taps, 1, inputSize);
    }
}
