using System.Text.Json;
using GradOracle.Cases;
using GradOracle.Tensors;

namespace GradOracle.Tests.Cases;

public class TensorJsonConverterTests
{
    private static readonly double[] Awkward = [double.Epsilon, -double.Epsilon, 2.2250738585072009e-308, -0.0, 0.0, double.MaxValue, -double.MaxValue,
        double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.1, 1.0 / 3, Math.PI, 1e-300, 123456789012345678];

    private static readonly JsonSerializerOptions Options = new() { Converters = { TensorJsonConverter.Instance } };

    private static long[] Bits(IEnumerable<double> v) => v.Select(x => BitConverter.DoubleToInt64Bits(double.IsNaN(x) ? double.NaN : x)).ToArray();

    [Test]
    public void Awkward_float64_values_round_trip_exactly_through_the_serializer()
    {
        var t = Tensor.FromArray(Shape.Of(3, 5), Awkward);
        var text = JsonSerializer.Serialize(new Dictionary<string, Tensor> { ["t"] = t }, Options);
        var back = JsonSerializer.Deserialize<Dictionary<string, Tensor>>(text, Options)!["t"];
        Assert.That(back.Shape, Is.EqualTo(t.Shape));
        Assert.That(Bits(back.ToArray()), Is.EqualTo(Bits(Awkward)));
    }

    [Test]
    public void Minus_zero_and_non_finite_values_are_written_so_that_other_readers_keep_them()
    {
        var text = TensorJsonConverter.Text(Tensor.FromArray(Shape.Of(3, 5), Awkward));
        Assert.That(text, Does.StartWith("{\"shape\": [3, 5], \"data\": [5E-324, -5E-324,"));
        Assert.That(text, Does.Contain("-0.0, 0,").And.Contain("\"NaN\", \"Infinity\", \"-Infinity\""));
        using var doc = JsonDocument.Parse(text);
        Assert.That(Bits(CaseJson.ReadTensor(doc.RootElement, "t").ToArray()), Is.EqualTo(Bits(Awkward)));
    }

    [Test]
    public void The_serializer_writes_the_same_text_as_the_protocol_and_the_case_files()
    {
        var t = Tensor.FromArray(Shape.Of(2), [1.5, -0.0]);
        Assert.That(JsonSerializer.Serialize(t, Options), Is.EqualTo(TensorJsonConverter.Text(t)));
    }

    [TestCase("{\"shape\": [2], \"data\": [1]}", "tensor.data: has 1 values, shape")]
    [TestCase("{\"shape\": [1], \"data\": [\"nan\"]}", "tensor.data[0]: the string \"nan\" is not a number")]
    [TestCase("{\"data\": [1]}", "missing required field \"shape\"")]
    [TestCase("[1, 2]", "expected a tensor object")]
    public void A_malformed_tensor_is_a_json_error_that_names_the_field(string json, string message)
    {
        var e = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Tensor>(json, Options));
        Assert.That(e!.Message, Does.Contain(message));
    }
}
