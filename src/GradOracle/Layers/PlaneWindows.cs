using GradOracle.Geometry;

namespace GradOracle.Layers;

/// <summary>
/// A pass's windows gathered once (each output's in-bounds taps, as input indices within a plane, in window order), so that
/// pooling can go plane by plane, in parallel, instead of gathering every window again for every plane.
/// </summary>
internal sealed class PlaneWindows
{
    private readonly int[] starts, taps;

    private PlaneWindows(int[] starts, int[] taps) => (this.starts, this.taps) = (starts, taps);

    /// <summary>Output <paramref name="o"/>'s taps (flat in the input plane), in window order.</summary>
    public ReadOnlySpan<int> this[int o] => taps.AsSpan(starts[o], starts[o + 1] - starts[o]);

    /// <summary>Taps of every window together: the work of one plane.</summary>
    public int TapCount => taps.Length;

    /// <summary>The windows of <paramref name="g"/>.</summary>
    public static PlaneWindows Of(WindowGeometry g)
    {
        var starts = new int[g.OutputPlaneSize + 1];
        var all = new List<int>();
        Span<int> window = g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize];
        Span<int> kernelTaps = g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize];
        for (int o = 0; o < g.OutputPlaneSize; o++)
        {
            int n = g.Gather(o, window, kernelTaps);
            foreach (int t in window[..n]) all.Add(t);
            starts[o + 1] = all.Count;
        }
        return new PlaneWindows(starts, [.. all]);
    }

    /// <summary>Taps per pass from which planes go to several cores: below it the split would cost more than it saves.</summary>
    private const long ParallelWork = 1 << 16;

    /// <summary>
    /// <paramref name="body"/> for every plane, in parallel when the pass is large. Planes share no element, so each
    /// element's sums keep their order however the planes are split.
    /// </summary>
    public void ForEachPlane(int planes, Action<int> body)
    {
        if ((long)planes * TapCount < ParallelWork) for (int p = 0; p < planes; p++) body(p);
        else Parallel.For(0, planes, body);
    }
}
