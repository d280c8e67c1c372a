using GradOracle.Geometry;
using GradOracle.Tensors;

namespace GradOracle.Checking;

/// <summary>
/// The sparsity of an op's Jacobian with respect to one input, as a colouring (Curtis, Powell and Reid):
/// no two elements of one colour reach a common output, so the checker can move all of a colour's
/// elements at once and attribute each output's change to the one element of that colour that reaches it.
/// The number of forward passes then depends on kernel and channel sizes, not on the spatial size.
/// </summary>
public abstract class JacobianStructure
{
    /// <summary>Number of colours.</summary>
    public abstract int Colours { get; }

    /// <summary>The colour of input element <paramref name="element"/>.</summary>
    public abstract int ColourOf(int element);

    /// <summary>The element of colour <paramref name="colour"/> that output <paramref name="output"/> may depend on, or -1.</summary>
    public abstract int Owner(int output, int colour);

    /// <summary>
    /// <see cref="Owner"/> for every output at once (the checker's inner loop); structures override it where
    /// a whole colour is cheaper to lay out than one output at a time.
    /// </summary>
    public virtual void Owners(int colour, Span<int> owners)
    {
        for (int j = 0; j < owners.Length; j++) owners[j] = Owner(j, colour);
    }

    /// <summary>
    /// Colours of one pattern (the same number, 0 or more) give every output, as its owner, the element of the same rank
    /// among their colour's elements in ascending order, or none for all of them: the checker lays out one colour's
    /// owners by rank and reuses them for the others (a convolution's input channels at one window residue, its weights
    /// at one tap). -1: no other colour shares this one's.
    /// </summary>
    public virtual int PatternOf(int colour) => -1;

    /// <summary>Every element its own colour class of one: each output depends on at most one element (elementwise ops).</summary>
    public static JacobianStructure Diagonal { get; } = new DiagonalStructure();

    /// <summary>A structure from functions.</summary>
    public static JacobianStructure Of(int colours, Func<int, int> colourOf, Func<int, int, int> owner) => new FunctionStructure(colours, colourOf, owner, null, null);

    /// <summary>
    /// A structure from functions, with a bulk form of <paramref name="owner"/> (see <see cref="Owners"/>) and, if given,
    /// each colour's <see cref="PatternOf"/>.
    /// </summary>
    public static JacobianStructure Of(int colours, Func<int, int> colourOf, Func<int, int, int> owner, OwnersOfColour owners, Func<int, int>? pattern = null) =>
        new FunctionStructure(colours, colourOf, owner, owners, pattern);

    /// <summary>Fills <paramref name="owners"/> with <see cref="Owner"/>(j, <paramref name="colour"/>) for every output j.</summary>
    public delegate void OwnersOfColour(int colour, Span<int> owners);

    /// <summary>
    /// Outputs in planes of <paramref name="plane"/> whose outputs all depend on the same element of a colour:
    /// <paramref name="ownerOf"/>(q, colour) for every output of plane q (a channel's weight or bias, a row of a
    /// linear layer, a batch-norm channel). Per output and in bulk from the one formula. <paramref name="sameRanks"/>: plane
    /// q's owner has the same rank in every colour (one <see cref="PatternOf"/> for all).
    /// </summary>
    public static JacobianStructure ByPlane(int colours, Func<int, int> colourOf, int plane, Func<int, int, int> ownerOf, bool sameRanks = false) =>
        Of(colours, colourOf, (j, k) => ownerOf(j / plane, k), (k, owners) =>
        {
            for (int q = 0; q < owners.Length / Math.Max(plane, 1); q++) owners.Slice(q * plane, plane).Fill(ownerOf(q, k)); // no outputs: no planes
        }, sameRanks ? _ => 0 : null);

    /// <summary>
    /// Windows over (N, C) planes (pooling, and convolution's input within a channel group): positions whose
    /// residues modulo the window span agree on every axis never share a window.
    /// </summary>
    public static WindowColouring Windows(WindowGeometry g) => new(g);

    private sealed class DiagonalStructure : JacobianStructure
    {
        public override int Colours => 1;
        public override int ColourOf(int element) => 0;
        public override int Owner(int output, int colour) => output;
    }

    private sealed class FunctionStructure(int colours, Func<int, int> colourOf, Func<int, int, int> owner, OwnersOfColour? owners, Func<int, int>? pattern)
        : JacobianStructure
    {
        public override int Colours => colours;
        public override int PatternOf(int colour) => pattern?.Invoke(colour) ?? -1;
        public override int ColourOf(int element) => colourOf(element);
        public override int Owner(int output, int colour) => owner(output, colour);

        public override void Owners(int colour, Span<int> result)
        {
            if (owners is null) base.Owners(colour, result);
            else owners(colour, result);
        }
    }
}

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

/// <summary>An op that knows its Jacobian's sparsity, so that finite differences can be compressed.</summary>
public interface IHasJacobianStructure
{
    /// <summary>The structure with respect to differentiable input <paramref name="input"/>, or null for none known.</summary>
    JacobianStructure? StructureOf(string input, Layers.NamedTensors inputs, Shape outputShape);

    /// <summary>
    /// Whether the op is differentiable at every finite input (no ties, no ReLU-like corners): the checker then
    /// skips the per-output kink test. Only for the oracle's own ops, whose formulas are known to be smooth.
    /// </summary>
    bool IsSmooth => false;

    /// <summary>
    /// Whether the op is affine in differentiable input <paramref name="input"/>, the others held (convolution in each
    /// of its inputs, not in two at once): a one-sided difference is then its derivative up to rounding, and the checker
    /// needs one pass per colour instead of two (<see cref="GradCheckOptions.OneSidedWhenAffine"/>). Only for the
    /// oracle's own ops, whose formulas are known; the checker tests it on a sample before relying on it.
    /// </summary>
    bool IsAffineIn(string input) => false;
}
