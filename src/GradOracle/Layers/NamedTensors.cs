using GradOracle.Tensors;

namespace GradOracle.Layers;

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

    /// <summary>A copy without <paramref name="name"/> (the same when it is absent).</summary>
    public NamedTensors Without(string name) => new(items.Where(i => i.Name != name).ToArray());
}
