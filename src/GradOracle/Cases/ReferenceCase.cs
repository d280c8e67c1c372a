using System.Collections.Immutable;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Cases;

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
    OpAttributes Attributes,
    NamedTensors Inputs,
    Tensor GradOutput,
    Tensor ExpectedOutput,
    NamedTensors ExpectedGrads,
    Tensor? ExpectedIndices,
    ImmutableArray<KeyValuePair<string, CaseTolerance>> Tolerances,
    CaseProvenance Provenance)
{
    /// <summary>The expected extra outputs (batch norm's updated running statistics in training); null when the op has none.</summary>
    public NamedTensors? ExpectedExtras { get; init; }

    /// <summary>The format written and read: bump it when the layout changes.</summary>
    public const string Format = "gradoracle-case-1";

    /// <summary>The op this case describes, built by <see cref="OpFactory"/>.</summary>
    public IOp CreateOp() =>
        OpFactory.Create(Op, Attributes.With(("tie_policy", TiePolicy), ("nan_rule", NanRule)), Inputs.Names);

    /// <summary>The expected tensors by their tolerance keys: "output", "grads.&lt;input&gt;", "indices", "extras.&lt;name&gt;".</summary>
    public IEnumerable<(string Key, Tensor Expected)> ExpectedTensors()
    {
        yield return ("output", ExpectedOutput);
        foreach (var (name, t) in ExpectedGrads.Items) yield return ($"grads.{name}", t);
        if (ExpectedIndices is not null) yield return ("indices", ExpectedIndices);
        foreach (var (name, t) in ExpectedExtras?.Items ?? []) yield return ($"extras.{name}", t);
    }

    /// <summary>The tolerance of one expected tensor.</summary>
    public CaseTolerance ToleranceOf(string key) => Tolerances.First(t => t.Key == key).Value;
}
