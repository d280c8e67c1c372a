using GradOracle.Verification;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Checking;

/// <summary>
/// Deliberately wrong backwards, the bugs people write: each keeps the correct forward of a reference
/// layer and replaces its backward. The checker and the invariants must catch every one.
/// </summary>
internal sealed class BrokenAvgPool(AvgPool reference, BrokenAvgPool.Bug bug) : IOp, IHasInvariants
{
    public enum Bug
    {
        /// <summary>dy copied to every window cell instead of divided by the divisor.</summary>
        CopiedNotDivided,
        /// <summary>dx[cell] = share instead of +=: overlapping windows overwrite each other.</summary>
        OverwriteNotAccumulate,
    }

    public string Name => reference.Name;
    public OpAttributes Attributes => reference.Attributes;
    public string AttributeText => ((IOp)reference).Attributes + $" [bug: {bug}]";
    public IReadOnlyList<string> DifferentiableInputs => reference.DifferentiableInputs;
    public Tensor Forward(NamedTensors inputs) => reference.Forward(inputs);

    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput) => NamedTensors.Input(bug == Bug.CopiedNotDivided
        ? OpFactory.TryWith(reference, inputs.Names, ("divisor_override", 1))!.Backward(inputs, gradOutput)["input"] // copying = dividing by 1
        : GradOracle.Tests.Verification.PlantedBugs.Predicted(reference, inputs, gradOutput, "overlapping windows overwrite"));

    public GradOracle.Layers.InvariantReport CheckInvariants(NamedTensors inputs, Tensor gradOutput, NamedTensors gradients) =>
        reference.CheckInvariants(inputs, gradOutput, gradients);
}

/// <summary>ReLU, as a minimal kinked op: gradient 0 at x = 0 (PyTorch's choice), or a wrong constant there.</summary>
internal sealed class TestRelu(double gradientAtZero = 0) : IOp
{
    public string Name => "relu";
    public OpAttributes Attributes => new(("grad_at_0", gradientAtZero));
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    public Tensor Forward(NamedTensors inputs)
    {
        var x = inputs["input"];
        return Tensor.Create(x.Shape, i => Math.Max(x.At(i), 0));
    }

    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var x = inputs["input"];
        return NamedTensors.Input(Tensor.Create(x.Shape, i => gradOutput.At(i) * (x.At(i) > 0 ? 1 : x.At(i) == 0 ? gradientAtZero : 0)));
    }
}

/// <summary>An op whose backward misbehaves outright: throws, or returns the wrong shape.</summary>
internal sealed class MisbehavingOp(bool throws) : IOp
{
    public string Name => "misbehaving";
    public OpAttributes Attributes => new(("misbehaviour", throws ? "throws" : "wrong shape"));
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];
    public Tensor Forward(NamedTensors inputs) => inputs["input"];

    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput) => throws
        ? throw new InvalidOperationException("kernel exploded")
        : NamedTensors.Input(Tensor.Zeros(Shape.Of(1)));
}
