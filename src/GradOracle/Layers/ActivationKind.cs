namespace GradOracle.Layers;

/// <summary>The elementwise activations.</summary>
public enum ActivationKind
{
    /// <summary>max(x, 0); gradient 0 at x = 0, as PyTorch (threshold_backward: x &lt;= 0 gives 0).</summary>
    Relu,
    /// <summary>x for x &gt; 0, else negative_slope·x; at 0 the gradient is negative_slope, as PyTorch.</summary>
    LeakyRelu,
    /// <summary>1 / (1 + e^-x); gradient y(1 - y).</summary>
    Sigmoid,
    /// <summary>tanh x; gradient 1 - y².</summary>
    Tanh,
}
