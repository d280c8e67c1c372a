using GradOracle.Layers;
using MathNet.Numerics.Random;

namespace GradOracle.Checking;

/// <summary>Settings of the projection screen (<see cref="ProjectionCheck"/>).</summary>
public sealed record ProjectionOptions
{
    /// <summary>Relative step, as <see cref="GradCheckOptions.Step"/>: element i moves by up to its checker step h_i.</summary>
    public double Step { get; init; } = 1e-4;

    /// <summary>Absolute tolerance per element, as <see cref="GradCheckOptions.AbsoluteTolerance"/>; a projection allows it times Σ|u_i|.</summary>
    public double AbsoluteTolerance { get; init; } = 1e-8;

    /// <summary>Relative tolerance, as <see cref="GradCheckOptions.RelativeTolerance"/>; a projection allows it times Σ|a_i u_i|.</summary>
    public double RelativeTolerance { get; init; } = 1e-6;

    /// <summary>Sets of at most this many elements are not split further but checked element by element.</summary>
    public int LeafSize { get; init; } = 8;

    /// <summary>Seed of the random directions.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>The op embodying the declared rules, passed to the element checks (see <see cref="GradCheckOptions.Declared"/>).</summary>
    public IOp? Declared { get; init; }

    /// <summary>Spread forward passes over the machine's cores.</summary>
    public bool Parallel { get; init; } = true;

    /// <summary>The element checker's settings for the same step, tolerances and rules.</summary>
    internal GradCheckOptions ForElements(Func<string, int, bool>? elements) => new()
    {
        Step = Step, AbsoluteTolerance = AbsoluteTolerance, RelativeTolerance = RelativeTolerance,
        Declared = Declared, Parallel = Parallel, Elements = elements,
    };

    internal void Validate()
    {
        static string S(double v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (!(Step > 0 && double.IsFinite(Step)))
            throw new ParameterException("ProjectionOptions.Step", S(Step), "must be a positive finite number (1e-4 by default)");
        if (!(AbsoluteTolerance >= 0 && double.IsFinite(AbsoluteTolerance)))
            throw new ParameterException("ProjectionOptions.AbsoluteTolerance", S(AbsoluteTolerance), "must be a finite number >= 0");
        if (!(RelativeTolerance >= 0 && double.IsFinite(RelativeTolerance)))
            throw new ParameterException("ProjectionOptions.RelativeTolerance", S(RelativeTolerance), "must be a finite number >= 0");
        if (LeafSize < 1)
            throw new ParameterException("ProjectionOptions.LeafSize", LeafSize.ToString(System.Globalization.CultureInfo.InvariantCulture), "must be at least 1");
    }
}
