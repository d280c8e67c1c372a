using GradOracle.Geometry;

namespace GradOracle.Layers;

/// <summary>Colours of positions in one plane by their residues modulo each axis's window span.</summary>
public sealed class WindowColouring
{
    private readonly WindowGeometry g;
    private readonly int[] span;
    private readonly int[] inStrides;

    internal WindowColouring(WindowGeometry g)
    {
        this.g = g;
        span = g.Axes.Select(a => (a.MaxTaps - 1) * a.Step + 1).ToArray();
        inStrides = new int[g.Rank];
        int s = 1;
        for (int a = g.Rank - 1; a >= 0; a--) { inStrides[a] = s; s *= g.InputSize[a]; }
        Colours = span.Aggregate(1, (x, y) => x * y);
    }

    /// <summary>Colours needed within one plane.</summary>
    public int Colours { get; }

    /// <summary>The colour of a position (flat in the input plane).</summary>
    public int ColourOf(int position)
    {
        int c = 0;
        for (int a = 0; a < g.Rank; a++) c = c * span[a] + position / inStrides[a] % g.InputSize[a] % span[a];
        return c;
    }

    /// <summary>
    /// A structure over outputs laid out as planes of windows: colour k reads window colour
    /// <paramref name="windowColour"/>(k), and window o of output plane q reads element
    /// <c>planeStart(q, k) + PositionIn(o, windowColour(k))</c>, or none (-1). In bulk, the positions are found once
    /// per window of a plane instead of once per output (the checker lays out every colour this way).
    /// <paramref name="sameRanks"/>: colours of one window colour read their planes in the same order (planeStart keeps
    /// the order of planes), so their owners have the same ranks (<see cref="JacobianStructure.PatternOf"/>).
    /// </summary>
    public JacobianStructure Structure(int colours, Func<int, int> colourOf, Func<int, int> windowColour, Func<int, int, int> planeStart, bool sameRanks = false)
    {
        int plane = g.OutputPlaneSize;
        // Each window colour's positions, found once for all the colours that read it (a convolution's input channels);
        // kept only when some are read more than once.
        var known = colours > Colours ? new int[Colours][] : null;
        return JacobianStructure.Of(colours, colourOf,
            (j, k) => PositionIn(j % plane, windowColour(k)) is var p and >= 0 ? planeStart(j / plane, k) + p : -1,
            (k, owners) =>
            {
                int wc = windowColour(k);
                var positions = known is null ? null : Volatile.Read(ref known[wc]);
                if (positions is null)
                {
                    positions = new int[plane];
                    for (int o = 0; o < plane; o++) positions[o] = PositionIn(o, wc);
                    if (known is not null) Volatile.Write(ref known[wc], positions); // two workers may both find them: the same numbers
                }
                for (int q = 0; q < owners.Length / plane; q++)
                {
                    int start = planeStart(q, k);
                    var dst = owners.Slice(q * plane, plane);
                    for (int o = 0; o < plane; o++) dst[o] = positions[o] < 0 ? -1 : start + positions[o];
                }
            }, sameRanks ? windowColour : null);
    }

    /// <summary>The position of colour <paramref name="colour"/> that window <paramref name="window"/> reads, or -1.</summary>
    public int PositionIn(int window, int colour)
    {
        int position = 0;
        for (int a = g.Rank - 1; a >= 0; a--)
        {
            int r = colour % span[a];
            colour /= span[a];
            var ax = g.Axes[a];
            int o = g.Coordinate(window, a), start = ax.Start(o);
            int p = start + (((r - start) % span[a]) + span[a]) % span[a]; // the one position in the window's range with residue r
            int j = p - start;
            if (j % ax.Step != 0 || j / ax.Step >= ax.TapCount(o) || p < 0 || p >= ax.InputSize) return -1;
            position += p * inStrides[a];
        }
        return position;
    }
}
