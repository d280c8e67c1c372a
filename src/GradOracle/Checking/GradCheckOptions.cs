using GradOracle.Layers;
using MathNet.Numerics.Differentiation;

namespace GradOracle.Checking;

/// <summary>Settings of the finite-difference check.</summary>
public sealed record GradCheckOptions
{
    /// <summary>Relative step: h is the power of two nearest <c>Step * max(1, |x|)</c>, so that x ± h is exact.</summary>
    public double Step { get; init; } = 1e-4;

    /// <summary>How many times the step is cut by 16 to tell a near-kink (inside the stencil) from a kink at x.</summary>
    public int Refinements { get; init; } = 3;

    /// <summary>Absolute tolerance on |analytic - numeric|.</summary>
    public double AbsoluteTolerance { get; init; } = 1e-8;

    /// <summary>Relative tolerance on |analytic - numeric|, against the larger magnitude.</summary>
    public double RelativeTolerance { get; init; } = 1e-6;

    /// <summary>
    /// The op whose analytic gradient embodies the declared rules (tie policy, NaN rule). At a kink, finite
    /// differences only bound the gradient between the one-sided slopes; the declared op says which value
    /// inside that range is right. Null: the range alone is judged.
    /// </summary>
    public IOp? Declared { get; init; }

    /// <summary>
    /// Compressed finite differences where the op declares its Jacobian's structure: the elements of a colour
    /// move together (element by element otherwise, and always for refining a kink).
    /// </summary>
    public bool Compress { get; init; } = true;

    /// <summary>Spread the forward passes over the machine's cores.</summary>
    public bool Parallel { get; init; } = true;

    /// <summary>
    /// Which elements to check, by input name and flat index (null: all). The others are neither moved nor
    /// reported; localising a failed projection uses this.
    /// </summary>
    public Func<string, int, bool>? Elements { get; init; }

    /// <summary>
    /// For an op differentiable everywhere (<see cref="IHasJacobianStructure.IsSmooth"/>): first the 3-point central
    /// difference (2 passes, steps ±h, error estimate from rounding alone), and the ±2h passes of the 5-point stencil
    /// only for elements it does not pass, judged then as with this false. An element passes on 3 points only when
    /// <c>|analytic - numeric| &lt;= atol + rtol·|analytic| + 2·rounding</c>, which implies that it passes on 5
    /// (Richardson's 5-point value is the 3-point one plus a third of the difference between steps h and 2h, and
    /// that third is part of the 5-point allowance), so this saves passes without passing anything more. False:
    /// 5 points everywhere (the reference-case generator, which records the best estimate).
    /// </summary>
    public bool ThreePointFirst { get; init; } = true;

}
