using System.Collections;
using System.Globalization;
using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// An op's attributes by their torch.nn.functional names, in order, with values of type int, int[],
/// bool, double or string. Immutable. The text form is what reports show.
/// </summary>
public sealed class OpAttributes : IEnumerable<KeyValuePair<string, object>>
{
    private readonly KeyValuePair<string, object>[] items;

    /// <summary>Creates the attributes; null values are left out (an unset optional attribute).</summary>
    public OpAttributes(params (string Name, object? Value)[] items)
    {
        this.items = items.Where(i => i.Value is not null)
            .Select(i => new KeyValuePair<string, object>(i.Name, i.Value is Array a ? a.Clone() : i.Value!)).ToArray();
        foreach (var (name, value) in this.items)
            if (value is not (int or int[] or double[] or bool or double or string))
                throw new ArgumentException($"attribute '{name}' has unsupported type {value.GetType().Name}");
    }

    /// <summary>No attributes.</summary>
    public static OpAttributes None { get; } = new();

    /// <summary>These attributes followed by <paramref name="more"/>.</summary>
    public OpAttributes With(params (string Name, object? Value)[] more) =>
        new([.. items.Select(i => (i.Key, (object?)i.Value)), .. more]);

    /// <summary>Whether the attribute is set.</summary>
    public bool Contains(string name) => items.Any(i => i.Key == name);

    /// <summary>The attribute's value.</summary>
    public object this[string name] => items.First(i => i.Key == name).Value;

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, object>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object>>)items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>A value as Python would write it: [2, 2], True, 0.01, 'same'.</summary>
    public static string Format(object value) => value switch
    {
        int[] a => "[" + string.Join(", ", a) + "]",
        double[] a => "[" + string.Join(", ", a.Select(Tensor.FormatNumber)) + "]",
        bool b => b ? "True" : "False",
        double d => Tensor.FormatNumber(d),
        string s => $"'{s}'",
        int i => i.ToString(CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>name=value, name=value.</summary>
    public override string ToString() => string.Join(", ", items.Select(i => $"{i.Key}={Format(i.Value)}"));
}
