using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// A chain of ops, each feeding its output to the next one's "input". Layer i's other inputs
/// (parameters, a loss's target, stochastic pooling's uniforms) are network inputs named "i.name", e.g.
/// "0.weight". Backward runs the chain in reverse and returns the gradient for the input and for every
/// differentiable parameter of every layer.
/// </summary>
public sealed class Sequential : IOp
{
    /// <summary>Creates the chain.</summary>
    public Sequential(string name, params IOp[] layers)
    {
        if (layers.Length == 0) throw new ParameterException("layers", "empty", "a network needs at least one layer");
        Name = name;
        Layers = layers;
        DifferentiableInputs = ["input", .. layers.SelectMany((l, i) => l.DifferentiableInputs.Where(n => n != "input").Select(n => $"{i}.{n}"))];
    }

    /// <summary>The layers, first to last.</summary>
    public IReadOnlyList<IOp> Layers { get; }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public OpAttributes Attributes => OpAttributes.None;

    /// <summary>The chain of layer names.</summary>
    public string AttributeText => string.Join(" -> ", Layers.Select(l => l.Name));

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; }

    /// <summary>Layer <paramref name="i"/>'s inputs: the running activation and its own "i.*" tensors.</summary>
    private static NamedTensors LayerInputs(NamedTensors inputs, int i, Tensor activation)
    {
        string prefix = $"{i}.";
        var own = inputs.Items.Where(t => t.Name.StartsWith(prefix, StringComparison.Ordinal)).Select(t => (t.Name[prefix.Length..], t.Value));
        return new NamedTensors([("input", activation), .. own]);
    }

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs)
    {
        var a = inputs["input"];
        for (int i = 0; i < Layers.Count; i++) a = Forward(i, LayerInputs(inputs, i, a));
        return a;
    }

    private Tensor Forward(int i, NamedTensors layerInputs)
    {
        try { return Layers[i].Forward(layerInputs); }
        catch (ParameterException e) { throw new ParameterException($"layer {i} ({Layers[i].Name}): {e.ParamName}", e.Value, e.Rule); }
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var layerInputs = new NamedTensors[Layers.Count];
        var a = inputs["input"];
        for (int i = 0; i < Layers.Count; i++)
        {
            layerInputs[i] = LayerInputs(inputs, i, a);
            a = Forward(i, layerInputs[i]);
        }
        Tensor.RequireShape("grad_output", gradOutput, a.Shape);
        var grads = new List<(string, Tensor)>();
        var g = gradOutput;
        for (int i = Layers.Count - 1; i >= 0; i--)
        {
            var layerGrads = Layers[i].Backward(layerInputs[i], g);
            foreach (var (name, value) in layerGrads.Items.Where(t => t.Name != "input").Reverse()) grads.Insert(0, ($"{i}.{name}", value));
            g = layerGrads["input"];
        }
        grads.Insert(0, ("input", g));
        return new NamedTensors(grads.ToArray());
    }
}
