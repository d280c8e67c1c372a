using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using GradOracle.Tensors;

namespace GradOracle.Cases;

/// <summary>
/// The one JSON form of a tensor, shared by the protocol, the reference cases, the recordings and the reports:
/// <c>{"shape": [2, 3], "data": [1, -0.0, "NaN", ...]}</c> on one line, row-major, numbers as
/// <see cref="CaseJson.Number"/> writes them (-0.0 kept, NaN and infinities as strings).
/// </summary>
public sealed class TensorJsonConverter : JsonConverter<Tensor>
{
    /// <summary>The shared instance (the converter holds no state).</summary>
    public static readonly TensorJsonConverter Instance = new();

    /// <summary>A tensor as its one line of JSON.</summary>
    public static string Text(Tensor t)
    {
        var sb = new StringBuilder("{\"shape\": [");
        sb.Append(string.Join(", ", t.Shape.Dimensions)).Append("], \"data\": [");
        var d = t.Span;
        for (int i = 0; i < d.Length; i++) sb.Append(i > 0 ? ", " : "").Append(CaseJson.Number(d[i]));
        return sb.Append("]}").ToString();
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, Tensor value, JsonSerializerOptions options) =>
        writer.WriteRawValue(Text(value), skipInputValidation: true);

    /// <summary>Reads a tensor with <see cref="CaseJson.ReadTensor"/>'s checks; a problem becomes a <see cref="JsonException"/> naming the field.</summary>
    public override Tensor Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var doc = JsonDocument.ParseValue(ref reader);
        try { return CaseJson.ReadTensor(doc.RootElement, "tensor"); }
        catch (CaseFormatException e) { throw new JsonException(e.Message, e); }
    }
}
