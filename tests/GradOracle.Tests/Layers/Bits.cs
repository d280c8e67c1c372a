using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>What the bit-identity tests share: a comparison bit for bit, and inputs sprinkled with special values.</summary>
internal static class Bits
{
    /// <summary>Fails at the first element whose bits differ (NaN payloads and the sign of zero count), saying both values and their bits.</summary>
    public static void AssertEqual(double[] actual, double[] expected, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        for (int i = 0; i < actual.Length; i++)
            if (BitConverter.DoubleToInt64Bits(actual[i]) != BitConverter.DoubleToInt64Bits(expected[i]))
                Assert.Fail($"{what}: element {i} is {actual[i]:R} ({BitConverter.DoubleToInt64Bits(actual[i]):X16}), the serial loop gives {expected[i]:R} ({BitConverter.DoubleToInt64Bits(expected[i]):X16})");
    }

    /// <summary>About one value in 25 replaced by a NaN, an infinity of either sign or a zero of either sign.</summary>
    public static Tensor Sprinkled(Tensor t, Random rng)
    {
        double[] specials = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.0, 0.0];
        var chosen = Enumerable.Range(0, t.Count).Where(_ => rng.Next(25) == 0).Select(p => (Position: p, Kind: rng.Next(specials.Length))).ToArray();
        for (int kind = 0; kind < specials.Length; kind++)
            t = Samples.With(t, specials[kind], chosen.Where(c => c.Kind == kind).Select(c => c.Position).ToArray());
        return t;
    }
}
