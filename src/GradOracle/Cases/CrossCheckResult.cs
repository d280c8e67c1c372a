namespace GradOracle.Cases;

/// <summary>The second oracle's verdict on one case.</summary>
/// <param name="Compared">It has the op and compared every tensor.</param>
/// <param name="Agrees">Within its tolerance (or nothing to compare).</param>
/// <param name="MaxRelativeDifference">Largest normwise relative difference, when compared.</param>
/// <param name="Note">Why there is no comparison, or what disagreed.</param>
public sealed record CrossCheckResult(bool Compared, bool Agrees, double MaxRelativeDifference, string? Note);
