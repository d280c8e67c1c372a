using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Checking;

/// <summary>
/// <see cref="GradCheckOptions.ThreePointFirst"/>: ops differentiable everywhere are first differenced at ±h only,
/// and the ±2h passes are made only for elements the 3-point value does not pass.
/// </summary>
public class ThreePointFirstTests
{
    private static readonly GradCheckOptions FiveEverywhere = new() { ThreePointFirst = false };

    private static IEnumerable<TestCaseData> SmoothCases() =>
        CheckSuite.All().Where(c => c.Op is IHasJacobianStructure { IsSmooth: true })
            .Select(c => new TestCaseData(c).SetArgDisplayNames($"{c.Op.Name} {c.Configuration}"));

    [TestCaseSource(nameof(SmoothCases))]
    public void A_correct_smooth_op_gets_the_verdicts_of_five_points_with_numbers_inside_their_error_estimates(CheckCase c)
    {
        var dy = GradientChecker.RandomGradOutput(c.Op.Forward(c.Inputs).Shape, 1);
        var three = GradientChecker.Check(c.Op, c.Inputs, dy);
        var five = GradientChecker.Check(c.Op, c.Inputs, dy, FiveEverywhere);
        Assert.That(three.Elements.Select(e => (e.Tensor, e.Index, e.Verdict)), Is.EqualTo(five.Elements.Select(e => (e.Tensor, e.Index, e.Verdict))));
        // The 5-point value is the 3-point one plus a third of the h/2h difference, which its estimate includes.
        foreach (var (t, f) in three.Elements.Zip(five.Elements))
            Assert.That(Math.Abs(t.Numeric - f.Numeric), Is.LessThanOrEqualTo(f.ErrorEstimate * (1 + 1e-12)), $"{t.Tensor}[{t.Index}]");
    }

    /// <summary>A 2-channel 3x3 convolution with padding on a 6x6 input, and its upstream gradient.</summary>
    private static (IOp Op, NamedTensors Inputs, Tensor Dy) SmallConvolution()
    {
        var op = Convolution.Create(2, padding: ConvPadding.Of(1));
        var inputs = new NamedTensors(("input", Samples.Distinct(Shape.Of(1, 2, 6, 6), 4)),
            ("weight", Samples.Scaled(Shape.Of(2, 2, 3, 3), 5, 0.5)), ("bias", Samples.Scaled(Shape.Of(2), 6, 0.5)));
        return (op, inputs, GradientChecker.RandomGradOutput(op.Forward(inputs).Shape, 1));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void A_correct_convolution_is_checked_in_half_the_passes(bool compress)
    {
        var (op, inputs, dy) = SmallConvolution();
        var three = new Counting(op);
        var five = new Counting(op);
        Assert.That(GradientChecker.Check(three, inputs, dy, new GradCheckOptions { Compress = compress }).Passed, Is.True);
        Assert.That(GradientChecker.Check(five, inputs, dy, FiveEverywhere with { Compress = compress }).Passed, Is.True);
        // One unmoved pass each; then 2 passes instead of 4 per colour (or per element).
        Assert.That(three.Forwards - 1, Is.EqualTo((five.Forwards - 1) / 2));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void A_gradient_that_is_the_one_sided_difference_of_a_curved_op_fails(bool compress)
    {
        // y = x² with gradient 2x + h: exactly the one-sided value ((x + h)² - x²) / h; the central difference is 2x.
        var op = new SquareWithOneSidedBias();
        var inputs = NamedTensors.Input(Samples.Distinct(Shape.Of(3, 5), 2));
        var dy = GradientChecker.RandomGradOutput(Shape.Of(3, 5), 1);
        var r = GradientChecker.Check(op, inputs, dy, new GradCheckOptions { Compress = compress });
        Assert.That(r.Elements.All(e => e.Verdict == ElementVerdict.Fail), Is.True, r.Describe());
    }

    /// <summary>x², elementwise, with the one-sided difference's bias in its gradient.</summary>
    private sealed class SquareWithOneSidedBias : IOp, IHasJacobianStructure
    {
        public string Name => "square";
        public OpAttributes Attributes => OpAttributes.None;
        public IReadOnlyList<string> DifferentiableInputs => ["input"];
        public Tensor Forward(NamedTensors inputs) => Tensor.Create(inputs["input"].Shape, i => inputs["input"].At(i) * inputs["input"].At(i));
        public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
        {
            var x = inputs["input"];
            return new NamedTensors(("input", Tensor.Create(x.Shape, i => gradOutput.At(i) * (2 * x.At(i) + GradientChecker.FirstStep(x.At(i), new GradCheckOptions())))));
        }
        public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) => JacobianStructure.Diagonal;
        public bool IsSmooth => true;
    }

    [TestCase(true)]
    [TestCase(false)]
    public void An_element_the_three_points_do_not_pass_is_judged_on_five_with_the_same_numbers(bool compress)
    {
        // Every 7th weight gradient is off by 1e-5 relative: beyond rtol 1e-6, so those elements fail 3 points and 5.
        var op = new Nudged(Convolution.Create(2, padding: ConvPadding.Of(1)), "weight", i => i % 7 == 3, 1 + 1e-5);
        var inputs = new NamedTensors(("input", Samples.Distinct(Shape.Of(1, 2, 5, 5), 4)),
            ("weight", Samples.Scaled(Shape.Of(3, 2, 3, 3), 5, 0.5)), ("bias", Samples.Scaled(Shape.Of(3), 6, 0.5)));
        var dy = GradientChecker.RandomGradOutput(op.Forward(inputs).Shape, 1);
        var three = GradientChecker.Check(op, inputs, dy, new GradCheckOptions { Compress = compress });
        var five = GradientChecker.Check(op, inputs, dy, FiveEverywhere with { Compress = compress });
        var failed = five.Elements.Where(e => e.Verdict == ElementVerdict.Fail).ToArray();
        Assert.That(failed.Select(e => (e.Tensor, e.Index)), Is.EqualTo(Enumerable.Range(0, 54).Where(i => i % 7 == 3).Select(i => ("weight", i))));
        Assert.That(three.Elements.Where(e => e.Verdict == ElementVerdict.Fail).Select(e => (e.Tensor, e.Index, e.Numeric, e.ErrorEstimate, e.Allowed)),
            Is.EqualTo(failed.Select(e => (e.Tensor, e.Index, e.Numeric, e.ErrorEstimate, e.Allowed))));
    }

    [Test]
    public void An_op_with_kinks_gets_five_points_whatever_the_option()
    {
        var op = MaxPool.Create(2, [2]);
        var inputs = NamedTensors.Input(Samples.Ties(Shape.Of(1, 2, 6, 6), 2));
        var dy = GradientChecker.RandomGradOutput(op.Forward(inputs).Shape, 1);
        var withOption = GradientChecker.Check(op, inputs, dy);
        var without = GradientChecker.Check(op, inputs, dy, FiveEverywhere);
        Assert.That(withOption.Kinks, Is.GreaterThan(0));
        Assert.That(withOption.Elements.Select(e => (e.Numeric, e.ErrorEstimate, e.Lower, e.Upper, e.Verdict)),
            Is.EqualTo(without.Elements.Select(e => (e.Numeric, e.ErrorEstimate, e.Lower, e.Upper, e.Verdict))));
    }

    /// <summary>The op with the gradient of some elements of one input scaled by a factor.</summary>
    private sealed class Nudged(IOp op, string input, Func<int, bool> which, double factor) : IOp, IHasJacobianStructure
    {
        public string Name => op.Name;
        public OpAttributes Attributes => op.Attributes;
        public IReadOnlyList<string> DifferentiableInputs => op.DifferentiableInputs;
        public Tensor Forward(NamedTensors inputs) => op.Forward(inputs);
        public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
        {
            var g = op.Backward(inputs, gradOutput);
            var t = g[input];
            return g.With(input, Tensor.Create(t.Shape, i => which(i) ? t.At(i) * factor : t.At(i)));
        }
        public JacobianStructure? StructureOf(string name, NamedTensors inputs, Shape outputShape) =>
            ((IHasJacobianStructure)op).StructureOf(name, inputs, outputShape);
        public bool IsSmooth => true;
    }
}
