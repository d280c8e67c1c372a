namespace GradOracle.Layers;

/// <summary>One broken invariant: which, and what was seen.</summary>
/// <param name="Invariant">The invariant's name, e.g. "sum(dx) = sum(dy)".</param>
/// <param name="Message">What broke it, with the numbers and where.</param>
public sealed record InvariantViolation(string Invariant, string Message)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Invariant}: {Message}";
}
