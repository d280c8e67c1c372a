namespace GradOracle.Verification;

/// <summary>A case's verdict.</summary>
public enum CaseStatus
{
    /// <summary>Matches the oracle, or lies in the set of valid gradients where the op has no derivative (a named convention).</summary>
    Pass,
    /// <summary>Wrong values, shapes or missing gradients, broken invariants, or its backward disagrees with its own forward.</summary>
    Fail,
    /// <summary>The implementation does not support the op or configuration.</summary>
    Skipped,
    /// <summary>The implementation errored, crashed, hung or answered garbage.</summary>
    Error,
    /// <summary>Failed or errored, and listed as a known failure with its reason: reported, but it does not fail the run.</summary>
    KnownFailure,
}
