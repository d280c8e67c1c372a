using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// An op that says, for each element of its output and gradients, how large the terms are that any
/// implementation sums to produce it: a rounding allowance is a few units of roundoff of that magnitude, never
/// of the result, which may have cancelled to almost nothing. An exact selection (a maximum, a relu) has
/// magnitude 0 and is compared exactly.
/// </summary>
public interface IHasMagnitudes
{
    /// <summary>Per element of the output and of each gradient, the magnitude of what was summed (non-negative, the tensors' shapes).</summary>
    OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput);
}
