using System.Collections.Immutable;

namespace GradOracle.Torch;

/// <summary>The comparison of one case.</summary>
public sealed record ParityResult(ParityStatus Status, string? Message, ImmutableArray<TensorParity> Tensors)
{
    /// <summary>Largest normwise relative difference over the compared tensors.</summary>
    public double WorstRelative => Tensors.Select(t => t.WorstRelative).DefaultIfEmpty(0).Max();

    /// <summary>Passing: agreement, or nothing to compare against.</summary>
    public bool Passed => Status != ParityStatus.Disagree;

    /// <summary>A one-line summary.</summary>
    public override string ToString() => Status switch
    {
        ParityStatus.Agree when Tensors.IsEmpty => $"agree: {Message}",
        ParityStatus.Agree => Tensors.All(t => t.Exact) ? "agree, exact" : $"agree, worst relative {WorstRelative:0.0e+0}{(Message is null ? "" : $" ({Message})")}",
        ParityStatus.Disagree => "DISAGREE: " + (Message ?? string.Join("; ", Tensors.Where(t => !t.Agree).Select(t => $"{t.Tensor}: {t.Detail}"))),
        _ => $"{Status}: {Message}",
    };
}
