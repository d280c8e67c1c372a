using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Checking;

/// <summary>The outcome of one <see cref="CheckCase"/>: finite differences and invariants, for upstream gradient <paramref name="GradOutput"/>.</summary>
public sealed record CheckOutcome(CheckCase Case, Tensor GradOutput, GradCheckResult Gradients, InvariantReport Invariants)
{
    /// <summary>Both the finite-difference check and the invariants pass.</summary>
    public bool Passed => Gradients.Passed && Invariants.Holds;

    /// <summary>Runs one case: the op's own gradient through the checker and the op's invariants.</summary>
    public static CheckOutcome Run(CheckCase c, int seed = 1)
    {
        var dy = GradientChecker.RandomGradOutput(c.Op.Forward(c.Inputs).Shape, seed);
        var grads = GradientChecker.Check(c.Op, c.Inputs, dy);
        return new CheckOutcome(c, dy, grads, grads.Error is null ? InvariantsOf(c, dy) : new InvariantReport([], []));
    }

    /// <summary>The case's op's invariants on its own gradient for <paramref name="gradOutput"/> (none for an op without invariants).</summary>
    public static InvariantReport InvariantsOf(CheckCase c, Tensor gradOutput) => c.Op is IHasInvariants h
        ? h.CheckInvariants(c.Inputs, gradOutput, c.Op.Backward(c.Inputs, gradOutput))
        : new InvariantReport([], []);
}
