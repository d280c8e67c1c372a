namespace GradOracle.Checking;

/// <summary>What the checker concluded about one gradient element.</summary>
public enum ElementVerdict
{
    /// <summary>Analytic and finite-difference values agree.</summary>
    Pass,
    /// <summary>A kink (non-differentiable point); the analytic value is acceptable there.</summary>
    KinkPass,
    /// <summary>They disagree, or at a kink the analytic value is not acceptable.</summary>
    Fail,
    /// <summary>Not checkable by finite differences (a non-finite input or output); see the note.</summary>
    Skipped,
}
