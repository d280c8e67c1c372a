using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Checking;

/// <summary>Counts forward and backward passes; keeps the wrapped op's Jacobian structure.</summary>
internal sealed class Counting(IOp op) : IOp, IHasJacobianStructure
{
    private int forwards, backwards;
    public int Forwards => forwards;
    public int Backwards => backwards;
    public string Name => op.Name;
    public OpAttributes Attributes => op.Attributes;
    public string AttributeText => op.AttributeText;
    public IReadOnlyList<string> DifferentiableInputs => op.DifferentiableInputs;
    public Tensor Forward(NamedTensors inputs) { Interlocked.Increment(ref forwards); return op.Forward(inputs); }
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput) { Interlocked.Increment(ref backwards); return op.Backward(inputs, gradOutput); }
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) =>
        (op as IHasJacobianStructure)?.StructureOf(input, inputs, outputShape);
    public bool IsSmooth => op is IHasJacobianStructure { IsSmooth: true };
}
