using System.Globalization;
using System.Text;
using System.Text.Json;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Cases;

/// <summary>
/// The JSON conventions shared by reference cases and (later) the protocol: tensors as
/// {"shape": [...], "data": [...]}, row-major; every float64 as its shortest round-trip decimal; -0.0
/// written "-0.0" (so that readers such as Python's json keep the sign); NaN and infinities as the
/// strings "NaN", "Infinity", "-Infinity".
/// </summary>
public static class CaseJson
{
    /// <summary>One float64 as JSON text.</summary>
    public static string Number(double v)
    {
        if (double.IsNaN(v)) return "\"NaN\"";
        if (double.IsPositiveInfinity(v)) return "\"Infinity\"";
        if (double.IsNegativeInfinity(v)) return "\"-Infinity\"";
        if (v == 0) return double.IsNegative(v) ? "-0.0" : "0";
        return v.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>A tensor as one line of JSON.</summary>
    public static string Tensor(Tensor t)
    {
        var sb = new StringBuilder("{\"shape\": [");
        sb.Append(string.Join(", ", t.Shape.Dimensions)).Append("], \"data\": [");
        var d = t.Span;
        for (int i = 0; i < d.Length; i++) sb.Append(i > 0 ? ", " : "").Append(Number(d[i]));
        return sb.Append("]}").ToString();
    }

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A JSON string literal (quotes, backslashes and control characters escaped; nothing else).</summary>
    public static string String(string s) => JsonSerializer.Serialize(s, Relaxed);

    /// <summary>An attribute value as JSON.</summary>
    public static string Value(object value) => value switch
    {
        int[] a => "[" + string.Join(", ", a) + "]",
        int i => i.ToString(CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        double d => Number(d),
        string s => String(s),
        _ => throw new ArgumentException($"unsupported attribute value {value}"),
    };

    /// <summary>Reads a float64 written by <see cref="Number"/> (or any JSON number); <paramref name="path"/> names it in errors.</summary>
    public static double ReadNumber(JsonElement e, string path) => e.ValueKind switch
    {
        JsonValueKind.Number => double.Parse(e.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture),
        JsonValueKind.String => e.GetString() switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            var s => throw new CaseFormatException(path, $"the string \"{s}\" is not a number (only \"NaN\", \"Infinity\", \"-Infinity\" are allowed)"),
        },
        _ => throw new CaseFormatException(path, $"expected a number, found {e.ValueKind}"),
    };

    /// <summary>Reads a tensor {"shape": [...], "data": [...]}.</summary>
    public static Tensor ReadTensor(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new CaseFormatException(path, "expected a tensor object {\"shape\": [...], \"data\": [...]}");
        var shapeEl = Required(e, "shape", path);
        var dataEl = Required(e, "data", path);
        if (shapeEl.ValueKind != JsonValueKind.Array) throw new CaseFormatException(path + ".shape", "expected an array of dimensions");
        if (dataEl.ValueKind != JsonValueKind.Array) throw new CaseFormatException(path + ".data", "expected an array of numbers");
        var dims = shapeEl.EnumerateArray().Select((d, i) =>
            d.ValueKind == JsonValueKind.Number && d.TryGetInt32(out var v) && v >= 0 ? v
                : throw new CaseFormatException($"{path}.shape[{i}]", "expected a non-negative integer")).ToArray();
        var data = dataEl.EnumerateArray().Select((d, i) => ReadNumber(d, $"{path}.data[{i}]")).ToArray();
        var shape = Shape.Of(dims);
        if (data.Length != shape.Count)
            throw new CaseFormatException(path + ".data", $"has {data.Length} values, shape {shape} needs {shape.Count}");
        return Tensors.Tensor.FromArray(shape, data);
    }

    /// <summary>Reads an attribute value: integer, integer list, number, boolean or string.</summary>
    public static object ReadValue(JsonElement e, string path) => e.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => e.GetString()!,
        JsonValueKind.Number when e.GetRawText().IndexOfAny(['.', 'e', 'E']) < 0 && e.TryGetInt32(out var i) => i,
        JsonValueKind.Number => ReadNumber(e, path),
        JsonValueKind.Array => e.EnumerateArray().Select((x, i) =>
            x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out var v) ? v : throw new CaseFormatException($"{path}[{i}]", "expected an integer")).ToArray(),
        _ => throw new CaseFormatException(path, $"unsupported attribute value of kind {e.ValueKind}"),
    };

    /// <summary>Reads an attributes object.</summary>
    public static OpAttributes ReadAttributes(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new CaseFormatException(path, "expected an object of attributes");
        return new OpAttributes(e.EnumerateObject().Select(p => (p.Name, (object?)ReadValue(p.Value, $"{path}.{p.Name}"))).ToArray());
    }

    /// <summary>The named member; a clear error when it is missing.</summary>
    public static JsonElement Required(JsonElement e, string name, string path) =>
        e.TryGetProperty(name, out var v) ? v : throw new CaseFormatException(path, $"missing required field \"{name}\"");
}

/// <summary>A reference case (or protocol message) that does not follow the format; names the JSON path.</summary>
public sealed class CaseFormatException(string path, string problem) : Exception($"{path}: {problem}")
{
    /// <summary>Where in the document, e.g. "expected.grads.input.data[3]".</summary>
    public string Path { get; } = path;
}
