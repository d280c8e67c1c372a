using System.Collections.Immutable;
using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>One compared tensor that differs.</summary>
public sealed record TensorDiff(string Tensor, int Count, int Total, ImmutableArray<string> Worst, string? Problem)
{
    /// <inheritdoc/>
    public override string ToString() => Problem ?? $"{Tensor}: {Count} of {Total} elements differ; worst: {string.Join("; ", Worst)}";
}
