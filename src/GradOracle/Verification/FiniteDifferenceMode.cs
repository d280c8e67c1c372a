namespace GradOracle.Verification;

/// <summary>How much of a float64 implementation's backward verify checks against finite differences of its own forward (--fd).</summary>
public enum FiniteDifferenceMode
{
    /// <summary>Every element of every differentiable input (up to <see cref="VerifyOptions.FiniteDifferenceMaxElements"/>).</summary>
    All,
    /// <summary>A seeded sample of <see cref="VerifyOptions.SampledElements"/> elements per input, plus its first and last: a wrong element elsewhere goes unseen by this check (the comparison with the oracle still sees it).</summary>
    Sampled,
    /// <summary>None: only the comparison with the oracle and the invariants.</summary>
    None,
}
