using GradOracle.Geometry;

namespace GradOracle.Layers;

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

