using System.Globalization;
using System.Text.Json;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Cases;

/// <summary>
/// The JSON conventions shared by reference cases, the protocol and the reports: every float64 as its shortest
/// round-trip decimal; -0.0 written "-0.0" (so that readers such as Python's json keep the sign); NaN and
/// infinities as the strings "NaN", "Infinity", "-Infinity"; tensors as <see cref="TensorJsonConverter"/> writes them.
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

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A JSON string literal (quotes, backslashes and control characters escaped; nothing else).</summary>
    public static string String(string s) => JsonSerializer.Serialize(s, Relaxed);

    /// <summary>An attribute value as JSON.</summary>
    public static string Value(object value) => value switch
    {
        int[] a => "[" + string.Join(", ", a) + "]",
        double[] a => "[" + string.Join(", ", a.Select(Number)) + "]",
        int i => i.ToString(CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        double d => Number(d),
        string s => String(s),
        _ => throw new ArgumentException($"unsupported attribute value {value}"),
    };

    /// <summary>Reads a float64 written by <see cref="Number"/> (or any JSON number); <paramref name="path"/> names it in errors.</summary>
    public static double ReadNumber(JsonElement e, string path) => e.ValueKind switch
    {
        JsonValueKind.Number => Finite(double.Parse(e.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture), e, path),
        JsonValueKind.String => ReadString(e, path) switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            var s => throw new CaseFormatException(path, $"the string \"{s}\" is not a number (only \"NaN\", \"Infinity\", \"-Infinity\" are allowed)"),
        },
        _ => throw new CaseFormatException(path, $"expected a number, found {e.ValueKind}"),
    };

    // A number past float64's range is a mistake, not an infinity: infinities are written "Infinity".
    private static double Finite(double v, JsonElement e, string path) => double.IsFinite(v) ? v
        : throw new CaseFormatException(path, $"{Clip(e.GetRawText())} is outside float64's range (write the string \"Infinity\" or \"-Infinity\" for an infinity)");

    private static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "...";

    /// <summary>A JSON string's value; a clear error for another kind or for text that is not valid UTF-16 (a lone surrogate).</summary>
    public static string ReadString(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.String) throw new CaseFormatException(path, $"expected a string, found {Kind(e)}");
        try { return e.GetString()!; }
        catch (InvalidOperationException) { throw new CaseFormatException(path, "the string is not valid Unicode (it holds a lone surrogate escape such as \\ud800)"); }
    }

    /// <summary>A JSON integer in int's range; a clear error for anything else (a fraction, a string, 1e400).</summary>
    public static int ReadInt(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.Number && e.GetRawText().IndexOfAny(['.', 'e', 'E']) < 0 && e.TryGetInt32(out var v) ? v
            : throw new CaseFormatException(path, $"expected an integer, found {(e.ValueKind == JsonValueKind.Number ? Clip(e.GetRawText()) : Kind(e))}");

    /// <summary>What a member holds, for messages: its JSON text when short, else its kind.</summary>
    public static string Found(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object or JsonValueKind.Array => Kind(e),
        _ when e.GetRawText() is { Length: <= 40 } raw => raw,
        _ => $"a long {e.ValueKind.ToString().ToLowerInvariant()}",
    };

    /// <summary>A JSON value's kind as the error messages name it.</summary>
    public static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    /// <summary>Reads a tensor {"shape": [...], "data": [...]}; its shape is checked against <see cref="Limits"/> before its data is read.</summary>
    public static Tensor ReadTensor(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new CaseFormatException(path, "expected a tensor object {\"shape\": [...], \"data\": [...]}");
        var shapeEl = Required(e, "shape", path);
        var dataEl = Required(e, "data", path);
        var shape = ReadShape(shapeEl, path + ".shape");
        if (dataEl.ValueKind != JsonValueKind.Array) throw new CaseFormatException(path + ".data", "expected an array of numbers");
        int length = dataEl.GetArrayLength();
        if (length != shape.Count)
            throw new CaseFormatException(path + ".data", $"has {length} values, shape {shape} needs {shape.Count}");
        var data = new double[length];
        int k = 0;
        foreach (var d in dataEl.EnumerateArray()) { data[k] = ReadNumber(d, $"{path}.data[{k}]"); k++; }
        return Tensors.Tensor.FromArray(shape, data);
    }

    /// <summary>Reads a tensor's shape: at most 64 non-negative integer dimensions, within the element limit.</summary>
    public static Shape ReadShape(JsonElement shapeEl, string path)
    {
        if (shapeEl.ValueKind != JsonValueKind.Array) throw new CaseFormatException(path, "expected an array of dimensions");
        if (shapeEl.GetArrayLength() > 64) throw new CaseFormatException(path, $"has {shapeEl.GetArrayLength()} dimensions; at most 64 are read");
        var dims = shapeEl.EnumerateArray().Select((d, i) =>
            d.ValueKind == JsonValueKind.Number && d.GetRawText().IndexOfAny(['.', 'e', 'E']) < 0 && d.TryGetInt32(out var v) && v >= 0 ? v
                : throw new CaseFormatException($"{path}[{i}]", "expected a non-negative integer")).ToArray();
        try { return Shape.Of(dims); }
        catch (ParameterException x) { throw new CaseFormatException(path, x.Message); }
    }

    /// <summary>Reads an attribute value: integer, integer list, number, number list, boolean or string.</summary>
    public static object ReadValue(JsonElement e, string path) => e.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => ReadString(e, path),
        JsonValueKind.Number when e.GetRawText().IndexOfAny(['.', 'e', 'E']) < 0 && e.TryGetInt32(out var i) => i,
        JsonValueKind.Number => ReadNumber(e, path),
        // A list of integers stays one (kernel sizes); a list holding any fraction is of numbers (interpolate's scale_factor).
        JsonValueKind.Array when e.EnumerateArray().All(x => x.ValueKind == JsonValueKind.Number) && e.EnumerateArray().Any(x => x.GetRawText().IndexOfAny(['.', 'e', 'E']) >= 0) =>
            e.EnumerateArray().Select((x, i) => ReadNumber(x, $"{path}[{i}]")).ToArray(),
        JsonValueKind.Array => e.EnumerateArray().Select((x, i) =>
            x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out var v) ? v : throw new CaseFormatException($"{path}[{i}]", "expected an integer")).ToArray(),
        _ => throw new CaseFormatException(path, $"unsupported attribute value of kind {e.ValueKind}"),
    };

    /// <summary>Reads an attributes object.</summary>
    public static OpAttributes ReadAttributes(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new CaseFormatException(path, "expected an object of attributes");
        return new OpAttributes(Members(e, path).Select(p => (p.Name, (object?)ReadValue(p.Value, $"{path}.{p.Name}"))).ToArray());
    }

    /// <summary>An object's members by name; a clear error for a name that is not valid Unicode or given twice.</summary>
    public static IReadOnlyList<(string Name, JsonElement Value)> Members(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new CaseFormatException(path, $"expected an object, found {Kind(e)}");
        var members = new List<(string, JsonElement)>();
        var seen = new HashSet<string>();
        foreach (var p in e.EnumerateObject())
        {
            string name;
            try { name = p.Name; }
            catch (InvalidOperationException) { throw new CaseFormatException(path, "a member name is not valid Unicode (it holds a lone surrogate escape)"); }
            if (!seen.Add(name)) throw new CaseFormatException($"{path}.{name}", "is given twice");
            members.Add((name, p.Value));
        }
        return members;
    }

    /// <summary>The named member; a clear error when it is missing.</summary>
    public static JsonElement Required(JsonElement e, string name, string path) =>
        e.ValueKind != JsonValueKind.Object ? throw new CaseFormatException(path, $"expected an object, found {Kind(e)}")
        : e.TryGetProperty(name, out var v) ? v : throw new CaseFormatException(path, $"missing required field \"{name}\"");
}

