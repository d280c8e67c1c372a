namespace GradOracle.Layers;

/// <summary>
/// A point where an elementwise activation has no derivative: its one-sided slopes, whose interval is the set of
/// valid gradients there (Clarke's generalized gradient), and the names of the two sides an implementation declares
/// its choice by: <c>left</c> and <c>right</c>, or <c>outside</c> and <c>inside</c> at the edges of a clamp.
/// </summary>
/// <param name="At">Where the kink is.</param>
/// <param name="Left">The slope just left of it.</param>
/// <param name="Right">The slope just right of it.</param>
/// <param name="LeftName">The choice naming the left slope.</param>
/// <param name="RightName">The choice naming the right slope.</param>
public sealed record Kink(double At, double Left, double Right, string LeftName = "left", string RightName = "right")
{
    /// <summary>The choice taking the two slopes' mean (JAX's split of a tie between the two branches of a min or max).</summary>
    public const string Mean = "mean";

    /// <summary>The lower edge of a clamped range: the left side is the outside.</summary>
    public static Kink LowerEdge(double at, double outside, double inside) => new(at, outside, inside, "outside", "inside");

    /// <summary>The upper edge of a clamped range: the right side is the outside.</summary>
    public static Kink UpperEdge(double at, double inside, double outside) => new(at, inside, outside, "inside", "outside");

    /// <summary>The smaller one-sided slope.</summary>
    public double Lo => Math.Min(Left, Right);

    /// <summary>The larger one-sided slope.</summary>
    public double Hi => Math.Max(Left, Right);

    /// <summary>Whether the slopes differ: a point with equal ones is no kink (elu with alpha = 1).</summary>
    public bool IsKink => Left != Right;

    /// <summary>The slope a named choice takes here.</summary>
    public double Slope(string choice) =>
        choice == LeftName ? Left : choice == RightName ? Right : choice == Mean ? (Left + Right) / 2
            : throw new ParameterException("choice", $"'{choice}'", $"must be {LeftName}, {RightName} or {Mean}");
}
