namespace GradOracle.Verification;

/// <summary>How much of a float64 implementation's backward verify checks against finite differences of its own forward (--fd).</summary>
public enum FiniteDifferenceMode
{
    /// <summary>Every element of every differentiable input (up to <see cref="VerifyOptions.FiniteDifferenceMaxElements"/>).</summary>
    All,
    /// <summary>
    /// One projection along a random direction over every element (four forward passes), bisected to element checks only
    /// where it disagrees: a few passes per case; an error at one element shows only when it exceeds the tolerance of
    /// the whole projection, so small errors in large inputs go unseen by this check (the comparison with the oracle still sees them).
    /// A case with ties, NaN windows or relu at 0 gets the full check: there a projection bisects down to elements anyway.
    /// </summary>
    Projection,
    /// <summary>A seeded sample of <see cref="VerifyOptions.SampledElements"/> elements per input, plus its first and last: a wrong element elsewhere goes unseen by this check (the comparison with the oracle still sees it).</summary>
    Sampled,
    /// <summary>None: only the comparison with the oracle and the invariants.</summary>
    None,
}
