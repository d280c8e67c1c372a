using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>An op's output and its gradients (by input name): an implementation's answer, or the oracle's.</summary>
/// <param name="Output">The forward's output.</param>
/// <param name="Grads">The gradient of &lt;grad_output, output&gt; with respect to each differentiable input.</param>
/// <param name="Extras">
/// Results besides the output (batch norm's updated running statistics, <see cref="IHasExtraOutputs"/>); null when the op
/// has none, or when an implementation's answer sent none.
/// </param>
public sealed record OpResult(Tensor Output, NamedTensors Grads, NamedTensors? Extras = null)
{
    /// <summary>The output, gradients and extra outputs of <paramref name="op"/> at <paramref name="inputs"/>.</summary>
    public static OpResult Of(IOp op, NamedTensors inputs, Tensor gradOutput) =>
        new(op.Forward(inputs), op.Backward(inputs, gradOutput), (op as IHasExtraOutputs)?.ExtraOutputs(inputs));

    /// <summary>The tensor under a report key: "output", "grads.&lt;input&gt;" or "extras.&lt;name&gt;"; null when absent.</summary>
    public Tensor? this[string key] => key == "output" ? Output
        : key.StartsWith("grads.", StringComparison.Ordinal) && Grads.Contains(key["grads.".Length..]) ? Grads[key["grads.".Length..]]
        : key.StartsWith("extras.", StringComparison.Ordinal) && Extras is { } x && x.Contains(key["extras.".Length..]) ? x[key["extras.".Length..]] : null;

    /// <summary>The report keys, output first, the extra outputs last.</summary>
    public IEnumerable<string> Keys => new[] { "output" }.Concat(Grads.Names.Select(n => $"grads.{n}")).Concat(Extras?.Names.Select(n => $"extras.{n}") ?? []);

    /// <summary>Whether a report key names an extra output.</summary>
    public static bool IsExtra(string key) => key.StartsWith("extras.", StringComparison.Ordinal);
}
