using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Checking;

/// <summary>A reference op with one of its gradients replaced by a buggy one.</summary>
internal sealed class ReplacedGradient(IOp reference, string name, string bug, Func<NamedTensors, Tensor, NamedTensors, Tensor> wrong) : IOp, IHasInvariants
{
    public string Name => reference.Name;
    public OpAttributes Attributes => reference.Attributes;
    public string AttributeText => $"{reference.AttributeText} [bug: {bug}]";
    public IReadOnlyList<string> DifferentiableInputs => reference.DifferentiableInputs;
    public Tensor Forward(NamedTensors inputs) => reference.Forward(inputs);

    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var right = reference.Backward(inputs, gradOutput);
        return right.With(name, wrong(inputs, gradOutput, right));
    }

    public InvariantReport CheckInvariants(NamedTensors inputs, Tensor gradOutput, NamedTensors gradients) =>
        ((IHasInvariants)reference).CheckInvariants(inputs, gradOutput, gradients);
}

/// <summary>The bugs people write in convolution, batch norm and softmax backwards: the checker must catch each.</summary>
public class WrongBackwardTests
{
    private static NamedTensors ConvInputs() => new(
        ("input", Samples.Distinct(Shape.Of(2, 2, 5, 5), 1)),
        ("weight", Samples.Scaled(Shape.Of(3, 2, 3, 3), 2, 0.5)),
        ("bias", Samples.Scaled(Shape.Of(3), 3, 0.5)));

    private static Tensor Map(Tensor t, Func<int, double, double> f) => Tensor.Create(t.Shape, i => f(i, t.At(i)));

    private static GradCheckResult CheckWithInvariants(IOp op, NamedTensors inputs, out InvariantReport invariants)
    {
        var dy = GradientChecker.RandomGradOutput(op.Forward(inputs).Shape, 7);
        invariants = ((IHasInvariants)op).CheckInvariants(inputs, dy, op.Backward(inputs, dy));
        return GradientChecker.Check(op, inputs, dy);
    }

    [Test]
    public void A_convolution_input_gradient_computed_with_the_kernel_not_rotated_fails_on_the_input()
    {
        // Forgetting the 180° rotation gives exactly the right answer for the flipped kernel.
        var conv = Convolution.Create(2, padding: ConvPadding.Of(1));
        var broken = new ReplacedGradient(conv, "input", "kernel not rotated", (inputs, dy, _) =>
        {
            var w = inputs["weight"];
            var flipped = Tensor.Create(w.Shape, i => w.At(i / 9 * 9 + 8 - i % 9));
            return conv.Backward(inputs.With("weight", flipped), dy)["input"];
        });
        var result = GradientChecker.Check(broken, ConvInputs());
        Assert.That(result.Passed, Is.False);
        Assert.That(result.Failures.Select(f => f.Tensor).Distinct(), Is.EqualTo(new[] { "input" }));
        Assert.That(result.Describe(), Does.Contain("gradient check failed for 'input'"));
    }

    [Test]
    public void A_weight_gradient_divided_by_the_batch_size_fails_and_names_the_division()
    {
        var conv = Convolution.Create(2, padding: ConvPadding.Of(1));
        var broken = new ReplacedGradient(conv, "weight", "dW / N", (_, _, right) => Map(right["weight"], (_, v) => v / 2));
        var result = GradientChecker.Check(broken, ConvInputs());
        Assert.That(result.Failures.Select(f => f.Tensor).Distinct(), Is.EqualTo(new[] { "weight" }));
        Assert.That(result.Describe(), Does.Contain("the gradient is divided by 2"));
    }

    [Test]
    public void A_bias_gradient_missing_the_sum_over_the_batch_fails_and_breaks_the_bias_invariant()
    {
        var conv = Convolution.Create(2, padding: ConvPadding.Of(1));
        var broken = new ReplacedGradient(conv, "bias", "first sample only", (inputs, dy, _) =>
        {
            int perSample = dy.Count / dy.Shape[0];
            var firstOnly = Tensor.Create(dy.Shape, i => i < perSample ? dy.At(i) : 0);
            return conv.Backward(inputs, firstOnly)["bias"];
        });
        var result = CheckWithInvariants(broken, ConvInputs(), out var invariants);
        Assert.That(result.Failures.Select(f => f.Tensor).Distinct(), Is.EqualTo(new[] { "bias" }));
        Assert.That(invariants.Broke(Convolution.BiasIsSumOfGradOutput), Is.True);
        Assert.That(invariants.ToString(), Does.Contain("the sum over the batch is missing"));
    }

    [Test]
    public void A_linear_weight_gradient_averaged_over_the_batch_breaks_the_product_invariant()
    {
        var linear = new Linear();
        var inputs = new NamedTensors(("input", Samples.Distinct(Shape.Of(4, 3), 1)), ("weight", Samples.Scaled(Shape.Of(2, 3), 2, 1)), ("bias", Samples.Scaled(Shape.Of(2), 3, 1)));
        var broken = new ReplacedGradient(linear, "weight", "dW / N", (_, _, right) => Map(right["weight"], (_, v) => v / 4));
        var result = CheckWithInvariants(broken, inputs, out var invariants);
        Assert.That(result.Passed, Is.False);
        Assert.That(invariants.ToString(), Does.Contain("divided by the batch size 4"));
    }

    [Test]
    public void A_batch_norm_backward_without_its_mean_terms_fails_and_breaks_both_invariants()
    {
        var bn = new BatchNorm(training: true);
        var inputs = new NamedTensors(("input", Samples.Distinct(Shape.Of(3, 2, 4), 1)), ("weight", Samples.Positive(Shape.Of(2), 2)), ("bias", Samples.Scaled(Shape.Of(2), 3, 1)));
        var broken = new ReplacedGradient(bn, "input", "no mean terms", (inp, dy, _) =>
        {
            var (_, invStd, _) = bn.Statistics(inp);
            var w = inp["weight"];
            return Map(dy, (i, g) => g * w.At(i / 4 % 2) * invStd[i / 4 % 2]); // dx = dx̂·invstd only
        });
        var result = CheckWithInvariants(broken, inputs, out var invariants);
        Assert.That(result.Failures.Select(f => f.Tensor).Distinct(), Is.EqualTo(new[] { "input" }));
        Assert.That(invariants.Broke(BatchNorm.BatchNormSum), Is.True);
        Assert.That(invariants.Broke(BatchNorm.BatchNormOrthogonal), Is.True);
        Assert.That(invariants.ToString(), Does.Contain("channel 0: sum(dx) = ").And.Contain("where rounding allows"));
    }

    [Test]
    public void A_softmax_backward_using_only_the_jacobian_diagonal_fails_and_rows_no_longer_sum_to_zero()
    {
        var softmax = new Softmax(1);
        var inputs = NamedTensors.Input(Samples.Distinct(Shape.Of(3, 4), 1));
        var broken = new ReplacedGradient(softmax, "input", "diagonal only", (inp, dy, _) =>
        {
            var y = softmax.Forward(inp);
            return Map(dy, (i, g) => g * y.At(i) * (1 - y.At(i)));
        });
        var result = CheckWithInvariants(broken, inputs, out var invariants);
        Assert.That(result.Passed, Is.False);
        Assert.That(invariants.Holds, Is.False);
        Assert.That(invariants.ToString(), Does.Contain("row (outer 0, inner 0) sums to").And.Contain("so rounding allows"));
    }

    [Test]
    public void The_reference_backwards_satisfy_the_same_invariants()
    {
        foreach (var (op, inputs) in new (IOp, NamedTensors)[]
        {
            (Convolution.Create(2, padding: ConvPadding.Of(1)), ConvInputs()),
            (new BatchNorm(training: true), new NamedTensors(("input", Samples.Distinct(Shape.Of(3, 2, 4), 1)), ("weight", Samples.Positive(Shape.Of(2), 2)), ("bias", Samples.Scaled(Shape.Of(2), 3, 1)))),
            (new Softmax(1), NamedTensors.Input(Samples.Distinct(Shape.Of(3, 4), 1))),
            (Activation.Relu(), NamedTensors.Input(Samples.With(Samples.Distinct(Shape.Of(6), 1), 0, 2))),
        })
        {
            var result = CheckWithInvariants(op, inputs, out var invariants);
            Assert.That(result.Passed, Is.True, result.Describe());
            Assert.That(invariants.Holds, Is.True, invariants.ToString());
            Assert.That(invariants.Checked, Is.Not.Empty);
        }
    }

    [TestCase(0.0)]
    [TestCase(1.0)]
    [TestCase(0.25)]
    public void A_relu_gradient_at_zero_anywhere_in_zero_to_dy_keeps_the_mask_invariant(double slope)
    {
        var relu = Activation.Relu();
        var x = T.Of([3], -1, 0, 1);
        var report = relu.CheckInvariants(NamedTensors.Input(x), T.Of([3], 2, 2, 2), NamedTensors.Input(T.Of([3], 0, 2 * slope, 2)));
        Assert.That(report.Holds, Is.True, report.ToString());
    }

    [Test]
    public void A_relu_gradient_beyond_dy_at_zero_or_passed_below_zero_breaks_the_mask_invariant()
    {
        var relu = Activation.Relu();
        var x = T.Of([3], -1, 0, 1);
        var atZero = relu.CheckInvariants(NamedTensors.Input(x), T.Of([3], 1, 1, 1), NamedTensors.Input(T.Of([3], 0, 2, 1)));
        Assert.That(atZero.Broke(Activation.ReluMask), Is.True);
        Assert.That(atZero.ToString(), Does.Contain("input[1] = 0: dx = 2, outside [0, 1]·dy = [0, 1]"));
        var below = relu.CheckInvariants(NamedTensors.Input(x), T.Of([3], 1, 1, 1), NamedTensors.Input(T.Of([3], 1, 0, 1)));
        Assert.That(below.ToString(), Does.Contain("input[0] = -1: dx = 1, dy·[x > 0] = 0"));
    }
}
