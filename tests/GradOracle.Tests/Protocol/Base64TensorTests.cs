using System.Text.Json;
using GradOracle.Cases;
using GradOracle.Protocol;
using GradOracle.Tensors;

namespace GradOracle.Tests.Protocol;

/// <summary>The binary tensor form: bytes worked out with Python's struct module, little-endian.</summary>
public class Base64TensorTests
{
    private static Tensor Read(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return Base64Tensor.Read(doc.RootElement, "output");
    }

    // struct.pack('<2f', 1.0, -2.0), '<2e' (1.0, -0.5), bfloat16 0x3F80 and 0x8000, '<2q' (3, -1), '<2d' (nan, -0.0).
    [TestCase("float32", 1.0, -2.0, "AACAPwAAAMA=")]
    [TestCase("float16", 1.0, -0.5, "ADwAuA==")]
    [TestCase("bfloat16", 1.0, -0.0, "gD8AgA==")]
    [TestCase("int64", 3.0, -1.0, "AwAAAAAAAAD//////////w==")]
    [TestCase("float64", double.NaN, -0.0, "AAAAAAAA+H8AAAAAAAAAgA==")]
    public void Each_dtype_writes_little_endian_bytes_and_reads_them_back(string dtype, double a, double b, string base64)
    {
        // .NET's double.NaN has the sign bit set; Python's float('nan') is the positive quiet NaN 0x7FF8...
        if (double.IsNaN(a)) a = BitConverter.Int64BitsToDouble(0x7FF8_0000_0000_0000);
        var t = Tensor.FromArray([2], a, b);
        var text = Base64Tensor.Text(t, dtype);
        Assert.That(text, Is.EqualTo($"{{\"shape\": [2], \"dtype\": \"{dtype}\", \"base64\": \"{base64}\"}}"));
        var back = Read(text);
        Assert.That(back.Shape.Dimensions, Is.EqualTo(new[] { 2 }));
        Assert.That(BitConverter.DoubleToInt64Bits(back.At(1)), Is.EqualTo(BitConverter.DoubleToInt64Bits(b)), "the sign of a zero survives");
        Assert.That(back.At(0), Is.EqualTo(a).Or.NaN);
    }

    [TestCase("float32", 0.1)]
    [TestCase("float16", 70000.0)]
    [TestCase("bfloat16", 1.00390625)]
    [TestCase("int64", 0.5)]
    public void A_value_the_dtype_would_change_is_refused_not_rounded(string dtype, double v) =>
        Assert.That(() => Base64Tensor.Text(Tensor.FromArray([1], v), dtype), Throws.ArgumentException.With.Message.Contains($"is not exact in {dtype}"));

    [TestCase("""{"shape": [3], "dtype": "float32", "base64": "AACAPwAAAMA="}""", "output.base64: holds 12 characters; shape (3) in float32 needs 12 bytes, 16 characters")]
    [TestCase("""{"shape": [2], "dtype": "float8", "base64": "AACAPwAAAMA="}""", "output.dtype: \"float8\" is not one of float64, float32, float16, bfloat16, int64")]
    [TestCase("""{"shape": [2], "dtype": "float32", "base64": "AACAPwAAAM!="}""", "output.base64: is not valid base64")]
    [TestCase("""{"shape": [2], "dtype": "float32", "base64": "AACAPwAAAMA=", "data": []}""", "output.data: is not a member of a base64 tensor")]
    [TestCase("""{"shape": [2], "base64": "AACAPwAAAMA="}""", "dtype")]
    public void A_malformed_tensor_is_refused_naming_the_field(string json, string message) =>
        Assert.That(() => Read(json), Throws.TypeOf<CaseFormatException>().With.Message.Contains(message));

    [Test]
    public void A_shape_past_the_element_limit_is_refused_before_the_text_is_decoded() =>
        Assert.That(() => Read("""{"shape": [1000000, 1000000], "dtype": "float64", "base64": ""}"""),
            Throws.TypeOf<CaseFormatException>().With.Message.Contains("output.shape"));
}
