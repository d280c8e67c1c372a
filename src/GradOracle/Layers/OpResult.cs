using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>An op's output and its gradients (by input name): an implementation's answer, or the oracle's.</summary>
/// <param name="Output">The forward's output.</param>
/// <param name="Grads">The gradient of &lt;grad_output, output&gt; with respect to each differentiable input.</param>
public sealed record OpResult(Tensor Output, NamedTensors Grads)
{
    /// <summary>The output and gradients of <paramref name="op"/> at <paramref name="inputs"/>.</summary>
    public static OpResult Of(IOp op, NamedTensors inputs, Tensor gradOutput) => new(op.Forward(inputs), op.Backward(inputs, gradOutput));

    /// <summary>The tensor under a report key: "output" or "grads.&lt;input&gt;"; null when absent.</summary>
    public Tensor? this[string key] => key == "output" ? Output
        : key.StartsWith("grads.", StringComparison.Ordinal) && Grads.Contains(key["grads.".Length..]) ? Grads[key["grads.".Length..]] : null;

    /// <summary>The report keys, output first.</summary>
    public IEnumerable<string> Keys => new[] { "output" }.Concat(Grads.Names.Select(n => $"grads.{n}"));
}
