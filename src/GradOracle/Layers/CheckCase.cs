using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>One configuration of one layer, with its inputs, for the built-in check.</summary>
/// <param name="Op">The layer.</param>
/// <param name="Inputs">Its inputs.</param>
/// <param name="Exercises">What the configuration exercises (ties, nan, padding-edge, ...).</param>
public sealed record CheckCase(IOp Op, NamedTensors Inputs, IReadOnlyList<string> Exercises)
{
    /// <summary>The input (and weight) shapes and the attributes, for the table.</summary>
    public string Configuration =>
        $"{Inputs["input"].Shape}{(Op is not Sequential && Inputs.Contains("weight") ? " w" + Inputs["weight"].Shape : "")} {Op.AttributeText}";
}
