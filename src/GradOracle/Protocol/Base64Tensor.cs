using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using GradOracle.Cases;
using GradOracle.Tensors;

namespace GradOracle.Protocol;

/// <summary>
/// The protocol's binary tensor form, <c>{"shape": [2, 3], "dtype": "float32", "base64": "..."}</c>: the elements
/// row-major, little-endian, in one of <see cref="Dtypes"/>, base64-encoded. Sent only to an implementation that
/// chose it in its hello; read in any message. Case files keep JSON numbers.
/// </summary>
public static class Base64Tensor
{
    /// <summary>The element types the form carries, with their sizes in bytes.</summary>
    public static IReadOnlyDictionary<string, int> Dtypes { get; } = new Dictionary<string, int>
    {
        ["float64"] = 8, ["float32"] = 4, ["float16"] = 2, ["bfloat16"] = 2, ["int64"] = 8,
    };

    /// <summary>
    /// The tensor's line of JSON in <paramref name="dtype"/>. Its values must be exact there (verify rounds what it
    /// sends to the implementation's dtype first): a value the dtype would change is refused, never rounded silently.
    /// </summary>
    public static string Text(Tensor t, string dtype)
    {
        int size = Dtypes.TryGetValue(dtype, out var s) ? s : throw new ArgumentException($"dtype \"{dtype}\" is not one of {string.Join(", ", Dtypes.Keys)}", nameof(dtype));
        var bytes = new byte[t.Count * size];
        var d = t.Span;
        for (int i = 0; i < d.Length; i++)
        {
            var at = bytes.AsSpan(i * size, size);
            double v = d[i];
            double back = dtype switch
            {
                "float64" => Put(at, v),
                "float32" => Put32(at, (float)v),
                "float16" => Put16(at, (Half)v),
                "bfloat16" => PutBf16(at, v),
                _ => PutInt64(at, v),
            };
            if (!back.Equals(v) && !(double.IsNaN(back) && double.IsNaN(v)))
                throw new ArgumentException($"element {i} ({Tensor.FormatNumber(v)}) is not exact in {dtype}", nameof(t));
        }
        var sb = new StringBuilder("{\"shape\": [");
        sb.Append(string.Join(", ", t.Shape.Dimensions)).Append("], \"dtype\": \"").Append(dtype).Append("\", \"base64\": \"");
        return sb.Append(Convert.ToBase64String(bytes)).Append("\"}").ToString();
    }

    /// <summary>Whether <paramref name="e"/> is in this form (it has a "base64" member) rather than JSON numbers.</summary>
    public static bool IsBase64(JsonElement e) => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("base64", out _);

    /// <summary>Reads a tensor in this form; a <see cref="CaseFormatException"/> naming the field for anything else.</summary>
    public static Tensor Read(JsonElement e, string path)
    {
        foreach (var p in e.EnumerateObject())
            if (p.Name is not ("shape" or "dtype" or "base64"))
                throw new CaseFormatException($"{path}.{p.Name}", "is not a member of a base64 tensor (shape, dtype, base64)");
        var shape = CaseJson.ReadShape(CaseJson.Required(e, "shape", path), path + ".shape");
        var dtype = CaseJson.ReadString(CaseJson.Required(e, "dtype", path), path + ".dtype");
        if (!Dtypes.TryGetValue(dtype, out var size))
            throw new CaseFormatException(path + ".dtype", $"\"{dtype}\" is not one of {string.Join(", ", Dtypes.Keys)}");
        var text = CaseJson.Required(e, "base64", path);
        if (text.ValueKind != JsonValueKind.String) throw new CaseFormatException(path + ".base64", "expected a string of base64");
        long expected = (long)shape.Count * size;
        // Checked on the text's length before decoding, so a lying shape allocates nothing.
        long chars = (expected + 2) / 3 * 4;
        var encoded = text.GetString()!;
        if (encoded.Length != chars)
            throw new CaseFormatException(path + ".base64", $"holds {encoded.Length} characters; shape {shape} in {dtype} needs {expected} bytes, {chars} characters");
        var bytes = new byte[expected];
        if (!Convert.TryFromBase64String(encoded, bytes, out int written) || written != expected)
            throw new CaseFormatException(path + ".base64", "is not valid base64");
        var data = new double[shape.Count];
        for (int i = 0; i < data.Length; i++)
        {
            var at = bytes.AsSpan(i * size, size);
            data[i] = dtype switch
            {
                "float64" => BinaryPrimitives.ReadDoubleLittleEndian(at),
                "float32" => BinaryPrimitives.ReadSingleLittleEndian(at),
                "float16" => (double)BinaryPrimitives.ReadHalfLittleEndian(at),
                "bfloat16" => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(at) << 16),
                _ => BinaryPrimitives.ReadInt64LittleEndian(at),
            };
        }
        return Tensor.FromArray(shape, data);
    }

    private static double Put(Span<byte> at, double v) { BinaryPrimitives.WriteDoubleLittleEndian(at, v); return v; }

    private static double Put32(Span<byte> at, float v) { BinaryPrimitives.WriteSingleLittleEndian(at, v); return v; }

    private static double Put16(Span<byte> at, Half v) { BinaryPrimitives.WriteHalfLittleEndian(at, v); return (double)v; }

    // bfloat16 is float32's upper half: exact values (what verify sends) lose nothing by dropping the lower one.
    private static double PutBf16(Span<byte> at, double v)
    {
        int bits = BitConverter.SingleToInt32Bits((float)v);
        BinaryPrimitives.WriteUInt16LittleEndian(at, (ushort)(bits >>> 16));
        return BitConverter.Int32BitsToSingle(bits & unchecked((int)0xFFFF0000));
    }

    private static double PutInt64(Span<byte> at, double v)
    {
        long n = v is >= -9.2233720368547758e18 and < 9.2233720368547758e18 ? (long)v : 0;
        BinaryPrimitives.WriteInt64LittleEndian(at, n);
        return n;
    }
}
