using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Checking;

/// <summary>
/// The outcome of one <see cref="CheckCase"/> for upstream gradient <paramref name="GradOutput"/>: the full
/// element-by-element check (<paramref name="Gradients"/>) or the projection screen (<paramref name="Screen"/>),
/// and the op's invariants.
/// </summary>
public sealed record CheckOutcome(CheckCase Case, Tensor GradOutput, GradCheckResult? Gradients, ProjectionResult? Screen, InvariantReport Invariants)
{
    /// <summary>The gradient check (or screen) and the invariants pass.</summary>
    public bool Passed => (Gradients?.Passed ?? Screen!.Passed) && Invariants.Holds;

    /// <summary>Gradient elements checked (full check) or screened.</summary>
    public int Elements => Gradients?.Checked ?? Screen!.Screened;

    /// <summary>Kinks found (full check) or localised (screen).</summary>
    public int Kinks => Gradients?.Kinks ?? Screen!.Kinks;

    /// <summary>The check's own account, failures first.</summary>
    public string Describe() => Gradients?.Describe() ?? Screen!.Describe();

    /// <summary>
    /// Runs one case: the op's own gradient through the checker (every element, or with <paramref name="screen"/> one
    /// random projection, bisected on failure) and the op's invariants.
    /// </summary>
    public static CheckOutcome Of(CheckCase c, int seed = 1, bool screen = false)
    {
        var dy = GradientChecker.RandomGradOutput(c.Op.Forward(c.Inputs).Shape, seed);
        // An op whose backward failed to run has no gradient to hold invariants to.
        InvariantReport Invariants(string? error) => error is null ? InvariantsOf(c, dy) : new InvariantReport([], []);
        if (screen)
        {
            var s = ProjectionCheck.Screen(c.Op, c.Inputs, dy);
            return new CheckOutcome(c, dy, null, s, Invariants(s.Error));
        }
        var grads = GradientChecker.Check(c.Op, c.Inputs, dy);
        return new CheckOutcome(c, dy, grads, null, Invariants(grads.Error));
    }

    /// <summary>The case's op's invariants on its own gradient for <paramref name="gradOutput"/> (none for an op without invariants).</summary>
    public static InvariantReport InvariantsOf(CheckCase c, Tensor gradOutput) => c.Op is IHasInvariants h
        ? h.CheckInvariants(c.Inputs, gradOutput, c.Op.Backward(c.Inputs, gradOutput))
        : new InvariantReport([], []);
}
