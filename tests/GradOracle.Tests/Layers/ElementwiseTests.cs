using GradOracle.Layers;

namespace GradOracle.Tests.Layers;

/// <summary>The shared scalar functions, against Python's math module (libm's expm1 and log1p).</summary>
public class ElementwiseTests
{
    // math.expm1(x)
    [TestCase(-0.0703, -0.06788585628649711)]
    [TestCase(-1e-10, -9.999999999500001e-11)]
    [TestCase(1e-05, 1.0000050000166668e-05)]
    [TestCase(0.0025, 0.002503127605795085)]
    [TestCase(-0.5, -0.3934693402873666)]
    [TestCase(0.3, 0.3498588075760031)]
    [TestCase(-20.0, -0.9999999979388464)]
    [TestCase(-745.0, -1.0)]
    [TestCase(700.0, 1.0142320547350045e+304)]
    public void Expm1_is_accurate_to_a_few_ulps_where_exp_minus_one_cancels(double x, double expected) =>
        Assert.That(Elementwise.Expm1(x), Is.EqualTo(expected).Within(2 * Math.BitIncrement(Math.Abs(expected)) - 2 * Math.Abs(expected)));

    [Test]
    public void Expm1_of_zero_and_infinities_is_exact()
    {
        Assert.That(Elementwise.Expm1(0), Is.EqualTo(0));
        Assert.That(Elementwise.Expm1(double.NegativeInfinity), Is.EqualTo(-1));
        Assert.That(Elementwise.Expm1(double.PositiveInfinity), Is.EqualTo(double.PositiveInfinity));
    }

    // math.log1p(math.exp(x)), and x + log1p(exp(-x)) for large x
    [TestCase(-30.0, 9.357622968839737e-14)]
    [TestCase(-2.0, 0.1269280110429725)]
    [TestCase(0.0, 0.6931471805599453)]
    [TestCase(1e-08, 0.6931471855599453)]
    [TestCase(3.0, 3.048587351573742)]
    [TestCase(40.0, 40.0)]
    public void Softplus_is_accurate_in_both_tails(double x, double expected) =>
        Assert.That(Elementwise.Softplus(x), Is.EqualTo(expected).Within(2 * Math.BitIncrement(Math.Abs(expected)) - 2 * Math.Abs(expected)));
}
