using GradOracle.Checking;
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
    OpAttributes Attrs { get; }

    /// <summary>The attributes as <c>name=value</c> text, for reports.</summary>
    string Attributes => Attrs.ToString();

    /// <summary>Inputs whose gradient <see cref="Backward"/> returns (a subset of the inputs).</summary>
    IReadOnlyList<string> DifferentiableInputs { get; }

    /// <summary>The output for <paramref name="inputs"/>.</summary>
    Tensor Forward(NamedTensors inputs);

    /// <summary>The gradient of <c>&lt;gradOutput, Forward(inputs)&gt;</c> with respect to each differentiable input.</summary>
    NamedTensors Backward(NamedTensors inputs, Tensor gradOutput);
}

/// <summary>
/// An op that can write its output into an array the caller lends and reuses: the finite-difference checker's
/// thousands of passes then allocate nothing (a fresh output per pass kept the garbage collector busy, and with
/// two workers its collections cost as much as the passes).
/// </summary>
public interface IForwardInto
{
    /// <summary>
    /// What <see cref="IOp.Forward"/> gives, written over <paramref name="output"/> (the output's size) and wrapped:
    /// the caller must not use the tensor once it lends the array again.
    /// </summary>
    Tensor Forward(NamedTensors inputs, double[] output);
}

/// <summary>
/// An op that evaluates many forward passes in one call: an implementation behind a pipe answers them all in
/// one round trip instead of one each. The finite-difference checker uses it when an op offers it.
/// </summary>
public interface IBatchedForward
{
    /// <summary>The outputs for each of <paramref name="inputs"/>, in order: what <see cref="IOp.Forward"/> gives for each.</summary>
    IReadOnlyList<Tensor> ForwardAll(IReadOnlyList<NamedTensors> inputs);
}

/// <summary>An operation with invariants that any correct gradient satisfies, whoever computed it.</summary>
public interface IHasInvariants
{
    /// <summary>Checks <paramref name="gradients"/> (ours or another implementation's) against the op's invariants.</summary>
    InvariantReport CheckInvariants(NamedTensors inputs, Tensor gradOutput, NamedTensors gradients);
}

/// <summary>An ordered, immutable set of named tensors: an op's inputs or its gradients.</summary>
public sealed class NamedTensors
{
    private readonly (string Name, Tensor Value)[] items;

    /// <summary>Creates the set; names must be distinct.</summary>
    public NamedTensors(params (string Name, Tensor Value)[] items)
    {
        for (int i = 0; i < items.Length; i++)
            for (int j = 0; j < i; j++)
                if (items[i].Name == items[j].Name)
                    throw new ArgumentException($"tensor name '{items[i].Name}' appears twice", nameof(items));
        this.items = (ValueTuple<string, Tensor>[])items.Clone();
    }

    /// <summary>Just one tensor called "input".</summary>
    public static NamedTensors Input(Tensor input) => new(("input", input));

    /// <summary>The names, in order.</summary>
    public IEnumerable<string> Names => items.Select(i => i.Name);

    /// <summary>The name-tensor pairs, in order.</summary>
    public IEnumerable<(string Name, Tensor Value)> Items => items;

    /// <summary>Whether a tensor called <paramref name="name"/> is present.</summary>
    public bool Contains(string name) => items.Any(i => i.Name == name);

    /// <summary>The tensor called <paramref name="name"/>; a clear error when it is missing.</summary>
    public Tensor this[string name] =>
        items.FirstOrDefault(i => i.Name == name).Value
        ?? throw new ParameterException(name, "missing", $"this op needs a tensor called '{name}' (given: {string.Join(", ", Names)})");

    /// <summary>A copy with <paramref name="name"/> replaced (or added).</summary>
    public NamedTensors With(string name, Tensor value)
    {
        var list = items.Where(i => i.Name != name).ToList();
        int at = Array.FindIndex(items, i => i.Name == name);
        list.Insert(at < 0 ? list.Count : at, (name, value));
        return new NamedTensors(list.ToArray());
    }
}
