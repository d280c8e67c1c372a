using System.Collections.Immutable;
using GradOracle.Tensors;

namespace GradOracle.Cases;

/// <summary>One element outside its tolerance.</summary>
public sealed record ElementMismatch(ImmutableArray<int> Coordinates, double Expected, double Actual)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"[{string.Join(", ", Coordinates)}] expected {Tensor.FormatNumber(Expected)}, got {Tensor.FormatNumber(Actual)}";
}
