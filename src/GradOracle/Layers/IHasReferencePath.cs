namespace GradOracle.Layers;

/// <summary>
/// An op whose forward and backward take a fast kernel, pinned bit for bit to a readable reference by a test: the
/// reference cases are generated from the reference, so that speed work can never move golden bits.
/// </summary>
public interface IHasReferencePath
{
    /// <summary>The same op, computed by the readable reference.</summary>
    IOp ReferencePath { get; }
}
