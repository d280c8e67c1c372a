namespace GradOracle.Layers;

/// <summary>How a loss reduces over its elements.</summary>
public enum Reduction
{
    /// <summary>The mean over every element (N × spatial).</summary>
    Mean,
    /// <summary>The sum.</summary>
    Sum,
    /// <summary>No reduction: one loss per element.</summary>
    None,
}
