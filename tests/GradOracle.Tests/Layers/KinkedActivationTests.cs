using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;
using GradOracle.Tests.Torch;
using GradOracle.Torch;

namespace GradOracle.Tests.Layers;

/// <summary>
/// What every activation with kinks must do, by its protocol name: a backward that agrees with finite differences
/// away from the kinks and lies between the one-sided slopes at them, PyTorch's choice there as libtorch 2.10 makes
/// it, and a judgement that accepts every slope in the set and nothing outside it.
/// </summary>
public class KinkedActivationTests
{
    private static readonly object[] Ops =
    [
        new object[] { "hardtanh", new OpAttributes(("min_val", -1.0), ("max_val", 1.0)), 2.0 },
        new object[] { "hardtanh", new OpAttributes(("min_val", -0.5), ("max_val", 2.0)), 3.0 },
        new object[] { "relu6", OpAttributes.None, 8.0 },
        new object[] { "hardsigmoid", OpAttributes.None, 5.0 },
        new object[] { "hardswish", OpAttributes.None, 5.0 },
        new object[] { "elu", new OpAttributes(("alpha", 0.5)), 3.0 },
        new object[] { "elu", new OpAttributes(("alpha", 2.5)), 3.0 },
        new object[] { "selu", OpAttributes.None, 3.0 },
    ];

    private static KinkedActivation Make(string name, OpAttributes attributes) => (KinkedActivation)OpFactory.Create(name, attributes, ["input"]);

    /// <summary>Samples in ±scale with every kink planted at several places, in a vectorised body and in a loop's tail.</summary>
    private static Tensor WithKinks(KinkedActivation op, int n, double scale, int seed)
    {
        var x = Samples.Scaled(Shape.Of(1, 1, n), seed, scale).ToArray();
        int at = 0;
        foreach (var k in op.Kinks)
            foreach (var p in new[] { 0, 5, 17, 40, n - 1 })
                if (p < n) x[(p + at++) % n] = k.At;
        return Tensor.Wrap(Shape.Of(1, 1, n), x);
    }

    [TestCaseSource(nameof(Ops))]
    public void The_backward_agrees_with_finite_differences_and_lies_between_the_slopes_at_kinks(string name, OpAttributes attributes, double scale)
    {
        var op = Make(name, attributes);
        var result = GradientChecker.Check(op, NamedTensors.Input(WithKinks(op, 24, scale, 5)));
        Assert.That(result.Passed, Is.True, result.ToString());
        Assert.That(result.Kinks, Is.GreaterThanOrEqualTo(op.Kinks.Count), "each planted kink is found");
    }

    [TestCaseSource(nameof(Ops))]
    public void PyTorch_s_choice_at_the_kinks_is_libtorch_s(string name, OpAttributes attributes, double scale)
    {
        TorchRequirement.Ensure();
        var op = Make(name, attributes);
        foreach (var n in new[] { 1, 3, 67 }) // a lone element, a short tail, vector bodies and a tail
        {
            var x = WithKinks(op, n, scale, n);
            var r = TorchParity.Compare(op, NamedTensors.Input(x), GradientChecker.RandomGradOutput(x.Shape, 3));
            Assert.That(r.Status, Is.EqualTo(ParityStatus.Agree), $"n = {n}: {r}");
        }
    }
}
