using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

public class ForwardIntoTests
{
    private static IEnumerable<TestCaseData> Cases() =>
        CheckSuite.All().Where(c => c.Op is IForwardInto).Select(c => new TestCaseData(c).SetArgDisplayNames($"{c.Op.Name} {c.Configuration}"));

    [TestCaseSource(nameof(Cases))]
    public void A_lent_array_holding_anything_gets_bit_for_bit_the_output_of_a_fresh_one(CheckCase c)
    {
        var fresh = c.Op.Forward(c.Inputs);
        // A used buffer: every element must be overwritten, so garbage (NaN, a large value) must not survive.
        var lent = Enumerable.Range(0, fresh.Count).Select(i => i % 2 == 0 ? double.NaN : 1e300).ToArray();
        var into = ((IForwardInto)c.Op).Forward(c.Inputs, lent);
        Assert.That(into.Shape, Is.EqualTo(fresh.Shape));
        Assert.That(into.ToArray().Select(BitConverter.DoubleToInt64Bits), Is.EqualTo(fresh.ToArray().Select(BitConverter.DoubleToInt64Bits)));
        Assert.That(into.Shares(lent), Is.True, "written into the lent array, not a copy");
    }

    [Test]
    public void A_lent_array_of_the_wrong_size_is_refused_by_name()
    {
        var op = Convolution.Create(2, padding: ConvPadding.Of(1));
        var inputs = new NamedTensors(("input", Samples.Distinct(Shape.Of(1, 2, 4, 4), 1)),
            ("weight", Samples.Scaled(Shape.Of(3, 2, 3, 3), 2, 0.5)), ("bias", Samples.Scaled(Shape.Of(3), 3, 0.5)));
        var e = Assert.Throws<ParameterException>(() => op.Forward(inputs, new double[47]));
        Assert.That(e!.Message, Does.Contain("output").And.Contain("48"));
    }
}
