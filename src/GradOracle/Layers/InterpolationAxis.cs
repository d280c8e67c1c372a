namespace GradOracle.Layers;

/// <summary>
/// One spatial dimension of interpolate: for each output coordinate, the input indices it reads and their weights,
/// computed as libtorch's CPU kernels compute them (aten/src/ATen/native/UpSample.h).
/// </summary>
public sealed class InterpolationAxis
{
    private InterpolationAxis(int input, int output, IReadOnlyList<(int Index, double Weight)>[] taps)
    {
        InputSize = input;
        OutputSize = output;
        Taps = taps;
    }

    /// <summary>The input's size along this dimension.</summary>
    public int InputSize { get; }

    /// <summary>The output's size along this dimension.</summary>
    public int OutputSize { get; }

    /// <summary>Per output coordinate, its taps: input index and weight (an index may repeat where bicubic's taps are clamped).</summary>
    public IReadOnlyList<(int Index, double Weight)>[] Taps { get; }

    /// <summary>The taps of one dimension under <paramref name="rule"/>; <paramref name="scaleFactor"/> the given factor the coordinates use, or null for in/out.</summary>
    public static InterpolationAxis For(InterpolationRule rule, int input, int output, double? scaleFactor)
    {
        var taps = new IReadOnlyList<(int, double)>[output];
        for (int o = 0; o < output; o++)
            taps[o] = rule.Mode switch
            {
                "nearest" or "nearest-exact" => [(Nearest(rule, o, input, output, scaleFactor), 1.0)],
                "bicubic" => Cubic(rule, o, input, output, scaleFactor),
                _ => Linear(rule, o, input, output, scaleFactor),
            };
        return new InterpolationAxis(input, output, taps);
    }

    /// <summary>
    /// nearest: floor(o·scale), nearest-exact: floor((o + 0.5)·scale), at most in - 1, with scale = 1/scale_factor or in/out
    /// in float32 as libtorch computes it; nearest copies when out = in and takes o/2 when out = 2·in, whatever the factor.
    /// </summary>
    private static int Nearest(InterpolationRule rule, int o, int input, int output, double? scaleFactor)
    {
        bool exact = rule.Mode == "nearest-exact";
        if (rule.ExactIndex)
        {
            // The rational floor: (2o + 1)·in / (2·out) or o·in/out, or with a given factor o / factor.
            long index = scaleFactor is { } f ? (long)Math.Floor((o + (exact ? 0.5 : 0)) / f)
                : exact ? (2L * o + 1) * input / (2L * output) : (long)o * input / output;
            return (int)Math.Min(index, input - 1);
        }
        if (!exact && output == input) return o;
        if (!exact && output == 2 * input) return o >> 1;
        float scale = scaleFactor is { } s && s > 0 ? (float)(1.0 / s) : (float)input / output;
        float source = exact ? (float)((o + 0.5) * scale) : o * scale;
        return Math.Min((int)MathF.Floor(source), input - 1);
    }

    /// <summary>area_pixel_compute_scale: (in - 1)/(out - 1) with align_corners, else 1/scale_factor or in/out (float64).</summary>
    private static double Scale(InterpolationRule rule, int input, int output, double? scaleFactor) =>
        rule.AlignCorners ? (output > 1 ? (double)(input - 1) / (output - 1) : 0)
        : scaleFactor is { } s && s > 0 ? 1.0 / s : (double)input / output;

    /// <summary>area_pixel_compute_source_index: scale·o aligned, else scale·(o + 0.5) - 0.5, clamped at 0 except for cubic.</summary>
    private static double Source(InterpolationRule rule, double scale, int o, bool cubic)
    {
        if (rule.AlignCorners) return scale * o;
        double source = rule.HalfPixel ? scale * (o + 0.5) - 0.5 : scale * o;
        return !cubic && source < 0 ? 0 : source;
    }

    /// <summary>guard_index_and_lambda: the floor (of the coordinate rounded to float32, as libtorch's floorf), at most in - 1, and the fraction in [0, 1].</summary>
    private static (int Index, double Lambda) Guard(double source, int input)
    {
        int index = (int)Math.Min(MathF.Floor((float)source), input - 1);
        return (index, Math.Min(Math.Max(source - index, 0), 1));
    }

    /// <summary>Two taps (1 - λ, λ); out = in copies (compute_source_index_and_lambda's shortcut).</summary>
    private static (int, double)[] Linear(InterpolationRule rule, int o, int input, int output, double? scaleFactor)
    {
        if (output == input) return [(o, 1.0), (o, 0.0)];
        var (index, lambda) = Guard(Source(rule, Scale(rule, input, output, scaleFactor), o, cubic: false), input);
        return [(index, 1 - lambda), (index + (index < input - 1 ? 1 : 0), lambda)];
    }

    /// <summary>Keys' cubic convolution over the taps index - 1 .. index + 2, each clamped into the input.</summary>
    private static (int, double)[] Cubic(InterpolationRule rule, int o, int input, int output, double? scaleFactor)
    {
        var (index, t) = Guard(Source(rule, Scale(rule, input, output, scaleFactor), o, cubic: true), input);
        double a = rule.CubicA;
        double Near(double x) => ((a + 2) * x - (a + 3)) * x * x + 1;        // |x| <= 1
        double Far(double x) => ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;    // 1 < |x| < 2
        double[] w = [Far(t + 1), Near(t), Near(1 - t), Far(2 - t)];
        return [.. Enumerable.Range(0, 4).Select(j => (Math.Clamp(index - 1 + j, 0, input - 1), w[j]))];
    }
}
