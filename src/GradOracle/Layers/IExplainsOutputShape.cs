using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>An op whose output shape follows a formula of its attributes (pooling, convolution, linear, ...), which it can state filled in.</summary>
public interface IExplainsOutputShape
{
    /// <summary>PyTorch's rule for the output shape at <paramref name="inputs"/>, with the attributes' values filled in.</summary>
    string OutputShapeRule(NamedTensors inputs);
}
