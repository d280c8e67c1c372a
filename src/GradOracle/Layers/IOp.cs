using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// A differentiable operation: a float64 forward and its analytic backward (a vector-Jacobian product),
/// side by side. Inputs and gradients are named as in torch.nn.functional ("input", "weight", ...).
/// </summary>
public interface IOp
{
    /// <summary>The torch.nn.functional-style name, e.g. <c>max_pool2d</c>.</summary>
    string Name { get; }

    /// <summary>The attributes, by torch.nn.functional names (tie_policy and nan_rule where PyTorch has none).</summary>
    OpAttributes Attributes { get; }

    /// <summary>What the project knows about the op besides forward and backward; a wrapper's is found by its name.</summary>
    OpDescriptor Descriptor => OpFactory.Describe(Name);

    /// <summary>The attributes as <c>name=value</c> text, for reports.</summary>
    string AttributeText => Attributes.ToString();

    /// <summary>Inputs whose gradient <see cref="Backward"/> returns (a subset of the inputs).</summary>
    IReadOnlyList<string> DifferentiableInputs { get; }

    /// <summary>The output for <paramref name="inputs"/>.</summary>
    Tensor Forward(NamedTensors inputs);

    /// <summary>The gradient of <c>&lt;gradOutput, Forward(inputs)&gt;</c> with respect to each differentiable input.</summary>
    NamedTensors Backward(NamedTensors inputs, Tensor gradOutput);
}

