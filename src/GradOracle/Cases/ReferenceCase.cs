using System.Collections.Immutable;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Cases;

/// <summary>How closely a tensor must match its expected value.</summary>
/// <param name="Exact">Bit for bit (NaN matches any NaN): selections such as max pooling.</param>
/// <param name="Atol">Absolute tolerance when not exact.</param>
/// <param name="Rtol">Relative tolerance when not exact: |actual - expected| &lt;= atol + rtol·|expected|.</param>
public sealed record CaseTolerance(bool Exact, double Atol, double Rtol)
{
    /// <summary>Bit for bit.</summary>
    public static CaseTolerance ExactMatch { get; } = new(true, 0, 0);

    /// <summary>Whether <paramref name="actual"/> is acceptable for <paramref name="expected"/>.</summary>
    public bool Allows(double expected, double actual)
    {
        if (double.IsNaN(expected) || double.IsNaN(actual)) return double.IsNaN(expected) && double.IsNaN(actual);
        if (Exact) return BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(actual);
        if (double.IsInfinity(expected) || double.IsInfinity(actual)) return expected == actual;
        return Math.Abs(actual - expected) <= Atol + Rtol * Math.Abs(expected);
    }

    /// <inheritdoc/>
    public override string ToString() => Exact ? "exact" : $"atol {Atol:G3}, rtol {Rtol:G3}";
}

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

/// <summary>
/// One golden reference case: an op with its attributes, inputs and upstream gradient, and the expected
/// output and gradients with a tolerance for each, the rules it assumes, what it exercises and where its
/// values come from.
/// </summary>
public sealed record ReferenceCase(
    string Id,
    string Op,
    string Description,
    ImmutableArray<string> Flags,
    string? TiePolicy,
    string? NanRule,
    OpAttributes Attrs,
    NamedTensors Inputs,
    Tensor GradOutput,
    Tensor ExpectedOutput,
    NamedTensors ExpectedGrads,
    Tensor? ExpectedIndices,
    ImmutableArray<KeyValuePair<string, CaseTolerance>> Tolerances,
    CaseProvenance Provenance)
{
    /// <summary>The format written and read: bump it when the layout changes.</summary>
    public const string Format = "gradoracle-case-1";

    /// <summary>The op this case describes, built by <see cref="OpFactory"/>.</summary>
    public IOp CreateOp() =>
        OpFactory.Create(Op, Attrs.With(("tie_policy", TiePolicy), ("nan_rule", NanRule)), Inputs.Names);

    /// <summary>The expected tensors by their tolerance keys: "output", "grads.&lt;input&gt;", "indices".</summary>
    public IEnumerable<(string Key, Tensor Expected)> ExpectedTensors()
    {
        yield return ("output", ExpectedOutput);
        foreach (var (name, t) in ExpectedGrads.Items) yield return ($"grads.{name}", t);
        if (ExpectedIndices is not null) yield return ("indices", ExpectedIndices);
    }

    /// <summary>The tolerance of one expected tensor.</summary>
    public CaseTolerance ToleranceOf(string key) => Tolerances.First(t => t.Key == key).Value;
}
