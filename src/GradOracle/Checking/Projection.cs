using MathNet.Numerics.Random;

namespace GradOracle.Checking;

/// <summary>
/// One directional derivative of <c>L(x) = &lt;dY, f(x)&gt;</c> along a random direction u over a set of
/// elements: the analytic <c>Σ a_i u_i</c> against the 5-point finite difference along u.
/// </summary>
/// <param name="Elements">How many elements moved.</param>
/// <param name="Analytic">Σ a_i u_i.</param>
/// <param name="Numeric">The finite-difference derivative along u (NaN when an output turned non-finite).</param>
/// <param name="ErrorEstimate">The stencil's estimate of its own error (truncation and rounding).</param>
/// <param name="Allowed">atol·Σ|u_i| + rtol·max(Σ|a_i u_i|, |numeric|) + 2·estimate.</param>
/// <param name="IsKink">The one-sided slopes along u jump: a tie or a kink somewhere in the set, so the values are not compared.</param>
public sealed record Projection(int Elements, double Analytic, double Numeric, double ErrorEstimate, double Allowed, bool IsKink)
{
    /// <summary>Whether the values can be compared: no kink, and every output stayed finite.</summary>
    public bool Conclusive => !IsKink && !double.IsNaN(Numeric);

    /// <summary>Conclusive and within the allowance.</summary>
    public bool Agrees => Conclusive && Math.Abs(Analytic - Numeric) <= Allowed;

    /// <summary>Conclusive and outside the allowance: some element of the set is wrong.</summary>
    public bool Disagrees => Conclusive && !Agrees;

    /// <inheritdoc/>
    public override string ToString()
    {
        string along = $"along a random direction over {Elements} elements";
        if (double.IsNaN(Numeric)) return $"an output turns non-finite {along}";
        if (IsKink) return $"kink {along} (the one-sided slopes jump: a tie or kink in the set, so it is bisected)";
        return $"analytic {ElementCheck.Show(Analytic)}, numeric {ElementCheck.Show(Numeric)} {along} " +
               $"(abs err {ElementCheck.Show(Math.Abs(Analytic - Numeric))}, allowed {ElementCheck.Show(Allowed)})";
    }
}
