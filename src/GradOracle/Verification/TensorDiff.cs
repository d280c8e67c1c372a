using System.Collections.Immutable;
using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>One compared tensor that differs.</summary>
public sealed record TensorDiff(string Tensor, int Count, int Total, ImmutableArray<string> Worst, string? Problem)
{
    /// <summary>A slice that holds every differing element (<c>grads.input[:, :, :, 32-40]</c>); null when they span the whole tensor.</summary>
    public string? Where { get; init; }

    /// <inheritdoc/>
    public override string ToString() => Problem ?? $"{Tensor}: {Count} of {Total} elements differ{(Where is null ? "" : $", all within {Where}")}; worst: {string.Join("; ", Worst)}";
}
