namespace GradOracle.Cases;

/// <summary>Where a case's expected values come from and how they were checked.</summary>
/// <param name="Generator">The generator and format version.</param>
/// <param name="FiniteDifferenceMaxError">Largest |analytic - numeric| over the smooth gradient elements.</param>
/// <param name="FiniteDifferenceElements">Gradient elements checked by finite differences.</param>
/// <param name="FiniteDifferenceKinks">Of those, elements at kinks (judged by the one-sided slopes).</param>
/// <param name="LibtorchVersion">libtorch's version when it was compared.</param>
/// <param name="LibtorchMaxRelativeDifference">Largest normwise relative difference from libtorch, when it has the op.</param>
/// <param name="LibtorchNone">Why there is no libtorch comparison, when there is none.</param>
public sealed record CaseProvenance(string Generator, double FiniteDifferenceMaxError, int FiniteDifferenceElements, int FiniteDifferenceKinks,
    string? LibtorchVersion, double? LibtorchMaxRelativeDifference, string? LibtorchNone);
