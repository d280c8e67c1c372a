using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;
using GradOracle.Tests.Torch;
using GradOracle.Torch;

namespace GradOracle.Tests.Layers;

/// <summary>
/// What every smooth elementwise activation must do, by its protocol name: a backward that agrees with finite
/// differences out into its tails, and with libtorch. Each op's own file pins its values and its named bugs.
/// </summary>
public class SmoothActivationTests
{
    private static readonly object[] Ops =
    [
        new object[] { "gelu", new OpAttributes(("approximate", "none")), 6.0 },
        new object[] { "gelu", new OpAttributes(("approximate", "tanh")), 6.0 },
        new object[] { "silu", OpAttributes.None, 8.0 },
        new object[] { "mish", OpAttributes.None, 8.0 },
    ];

    // Within ±6 for gelu: beyond, its slope is so small that the kink test's threshold, relative to it, refines smooth points.
    [TestCaseSource(nameof(Ops))]
    public void The_backward_agrees_with_finite_differences_into_the_tails(string name, OpAttributes attributes, double scale)
    {
        var op = OpFactory.Create(name, attributes, ["input"]);
        var result = GradientChecker.Check(op, NamedTensors.Input(Samples.Scaled(Shape.Of(2, 3, 5), 7, scale)));
        Assert.That(result.Passed, Is.True, result.ToString());
        Assert.That(result.Kinks, Is.Zero, "a smooth op has no kinks");
    }

    [TestCaseSource(nameof(Ops))]
    public void Forward_and_backward_agree_with_libtorch(string name, OpAttributes attributes, double scale)
    {
        TorchRequirement.Ensure();
        var op = OpFactory.Create(name, attributes, ["input"]);
        var x = Samples.Scaled(Shape.Of(2, 3, 6), 11, scale);
        var r = TorchParity.Compare(op, NamedTensors.Input(x), GradientChecker.RandomGradOutput(x.Shape, 3));
        Assert.That(r.Status, Is.EqualTo(ParityStatus.Agree), r.ToString());
    }
}
