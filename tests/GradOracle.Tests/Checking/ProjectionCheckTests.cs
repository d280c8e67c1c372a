using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;
using GradOracle.Verification;

namespace GradOracle.Tests.Checking;

public class ProjectionCheckTests
{
    /// <summary>conv2d at (2,8,16,16) with an 8->8 3x3 kernel, padding 1, bias: 4096 + 576 + 8 elements.</summary>
    private static (IOp Op, NamedTensors Inputs) LargeConv() =>
        (Convolution.Create(2, padding: ConvPadding.Of(1)), new NamedTensors(
            ("input", Samples.Distinct(Shape.Of(2, 8, 16, 16), 1)),
            ("weight", Samples.Scaled(Shape.Of(8, 8, 3, 3), 2, 0.3)),
            ("bias", Samples.Scaled(Shape.Of(8), 3, 0.3))));

    private static int ElementCount(IOp op, NamedTensors inputs) => op.DifferentiableInputs.Sum(n => inputs[n].Count);

    /// <summary>The reference op with the listed gradient elements moved by the given amounts.</summary>
    private static IOp WrongAt(IOp reference, params (string Tensor, int Index, double By)[] errors) => new OffBy(reference, errors);

    /// <summary>Adds fixed errors to chosen elements of the reference gradient.</summary>
    private sealed class OffBy(IOp reference, (string Tensor, int Index, double By)[] errors) : IOp
    {
        public string Name => reference.Name;
        public OpAttributes Attributes => reference.Attributes;
        public IReadOnlyList<string> DifferentiableInputs => reference.DifferentiableInputs;
        public Tensor Forward(NamedTensors inputs) => reference.Forward(inputs);

        public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
        {
            var grads = reference.Backward(inputs, gradOutput);
            foreach (var (tensor, index, by) in errors) grads = grads.With(tensor, grads[tensor].WithElement(index, grads[tensor].At(index) + by));
            return grads;
        }
    }

    /// <summary>Every localised element has the same numbers and verdict as the full check gives it.</summary>
    private static void AssertAgreesWithFullCheck(ProjectionResult screen, GradCheckResult full)
    {
        var byElement = full.Elements.ToDictionary(e => (e.Tensor, e.Index));
        Assert.That(screen.Elements, Is.Not.Empty);
        foreach (var e in screen.Elements)
        {
            var f = byElement[(e.Tensor, e.Index)];
            Assert.That((e.Analytic, e.Numeric, e.IsKink, e.Lower, e.Upper, e.Verdict), Is.EqualTo((f.Analytic, f.Numeric, f.IsKink, f.Lower, f.Upper, f.Verdict)), e.Where);
        }
    }

    [TestCase("conv2d")]
    [TestCase("avg_pool2d")]
    [TestCase("batch_norm")]
    public void A_correct_op_passes_with_one_backward_and_five_forward_passes(string layer)
    {
        var (conv, convInputs) = LargeConv();
        var x = convInputs["input"];
        var (op, inputs) = layer switch
        {
            "conv2d" => (conv, convInputs),
            "avg_pool2d" => ((IOp)AvgPool.Create(2, [3], [2], [1]), NamedTensors.Input(x)),
            _ => (new BatchNorm(training: true), new NamedTensors(("input", x), ("weight", Samples.Positive(Shape.Of(8), 2)), ("bias", Samples.Scaled(Shape.Of(8), 3, 0.3)))),
        };
        var dy = GradientChecker.RandomGradOutput(op.Forward(inputs).Shape, 1);
        var counting = new Counting(op);

        var r = ProjectionCheck.Screen(counting, inputs, dy);

        Assert.That(r.Passed, Is.True, r.Describe());
        Assert.That((counting.Forwards, counting.Backwards), Is.EqualTo((5, 1)), "the base output, 4 stencil points, one backward");
        Assert.That((r.ForwardPasses, r.Projections), Is.EqualTo((5, 1)));
        Assert.That(r.Screened, Is.EqualTo(ElementCount(op, inputs)));
        Assert.That(r.Elements, Is.Empty, "nothing to localise");
        Assert.That(r.Describe(), Does.Contain("projection screen passed").And.Contain("5 forward passes"));
    }

    [TestCase("input", 1234, 0.5)]
    [TestCase("weight", 100, -0.25)]
    [TestCase("bias", 3, 1.0)]
    public void A_backward_wrong_at_one_element_is_localised_to_it_in_logarithmically_many_passes(string tensor, int index, double by)
    {
        var (conv, inputs) = LargeConv();
        var dy = GradientChecker.RandomGradOutput(conv.Forward(inputs).Shape, 1);
        var right = conv.Backward(inputs, dy)[tensor].At(index);

        var r = ProjectionCheck.Screen(WrongAt(conv, (tensor, index, by)), inputs, dy);

        Assert.That(r.Passed, Is.False);
        var wrong = r.Failures.Single();
        Assert.That((wrong.Tensor, wrong.Index), Is.EqualTo((tensor, index)));
        Assert.That(wrong.Analytic, Is.EqualTo(right + by));
        Assert.That(wrong.Numeric, Is.EqualTo(right).Within(1e-8), "finite differences see the reference gradient");
        Assert.That(r.Describe(), Does.Contain($"{wrong.Where}: analytic ").And.Contain("1 wrong element(s) localised"));
        // Bisection: two projections per level over at most log2(n) levels plus one per extra input, then one
        // element check of at most LeafSize elements (4 passes each, uncompressed) with its base pass.
        int n = ElementCount(conv, inputs), levels = (int)Math.Ceiling(Math.Log2(n)) + 2;
        Assert.That(r.Projections, Is.LessThanOrEqualTo(1 + 2 * levels));
        Assert.That(r.ForwardPasses, Is.LessThanOrEqualTo(1 + 4 * (1 + 2 * levels) + 1 + 4 * 8));
        Assert.That(r.ForwardPasses, Is.LessThan(n / 20), "far fewer passes than elements");
    }

    [Test]
    public void Several_wrong_elements_in_different_tensors_are_all_found()
    {
        var (conv, inputs) = LargeConv();
        (string, int, double)[] errors = [("input", 7, 0.5), ("input", 2048, -0.5), ("input", 4095, 0.125), ("weight", 0, 0.25), ("weight", 575, -1), ("bias", 7, 2)];

        var r = ProjectionCheck.Screen(WrongAt(conv, errors), inputs);

        Assert.That(r.Failures.Select(f => (f.Tensor, f.Index)), Is.EquivalentTo(errors.Select(e => (e.Item1, e.Item2))));
        Assert.That(r.Elements.Take(errors.Length).All(e => e.Verdict == ElementVerdict.Fail), Is.True, "failures first");
        Assert.That(r.ForwardPasses, Is.LessThan(ElementCount(conv, inputs) / 4));
    }

    private static IEnumerable<TestCaseData> SystematicBugs()
    {
        var avg = AvgPool.Create(2, [3], [2], [1]);
        var x = Samples.Distinct(Shape.Of(1, 2, 9, 9), 4);
        yield return new TestCaseData(new BrokenAvgPool(avg, BrokenAvgPool.Bug.CopiedNotDivided), NamedTensors.Input(x)).SetArgDisplayNames("avg_pool copied not divided");
        yield return new TestCaseData(new BrokenAvgPool(avg, BrokenAvgPool.Bug.OverwriteNotAccumulate), NamedTensors.Input(x)).SetArgDisplayNames("avg_pool overwrite");
        var max = MaxPool.Create(2, [3], [2], [1]);
        yield return new TestCaseData(new ReplacedGradient(max, "input", "overwrite", (inp, dy, _) => GradOracle.Tests.Verification.PlantedBugs.Predicted(max, inp, dy, "overlapping windows overwrite")), NamedTensors.Input(x))
            .SetArgDisplayNames("max_pool overwrite");
        var conv = Convolution.Create(2, padding: ConvPadding.Of(1));
        var convInputs = new NamedTensors(("input", Samples.Distinct(Shape.Of(1, 2, 6, 6), 5)), ("weight", Samples.Scaled(Shape.Of(3, 2, 3, 3), 6, 0.5)), ("bias", Samples.Scaled(Shape.Of(3), 7, 0.5)));
        yield return new TestCaseData(new ReplacedGradient(conv, "weight", "dW / N", (_, _, right) => Tensor.Create(right["weight"].Shape, i => right["weight"].At(i) / 2)), convInputs)
            .SetArgDisplayNames("conv2d weight halved");
    }

    [TestCaseSource(nameof(SystematicBugs))]
    public void A_systematically_wrong_backward_fails_and_its_localised_elements_agree_with_the_full_check(IOp broken, NamedTensors inputs)
    {
        var dy = GradientChecker.RandomGradOutput(broken.Forward(inputs).Shape, 1);
        var full = GradientChecker.Check(broken, inputs, dy);
        Assert.That(full.Passed, Is.False, "the bug shows in the full check");

        var r = ProjectionCheck.Screen(broken, inputs, dy);

        Assert.That(r.Passed, Is.False);
        AssertAgreesWithFullCheck(r, full);
        Assert.That(r.Failures.Select(f => (f.Tensor, f.Index)), Is.EquivalentTo(full.Failures.Select(f => (f.Tensor, f.Index))), "every wrong element found");
    }

    [Test]
    public void The_description_names_the_wrong_elements_the_cost_and_the_pattern()
    {
        // Copying dy to the 9 cells of every 3x3 window instead of dividing by 9: every element 9x too large.
        var broken = new BrokenAvgPool(AvgPool.Create(2, [3], [2], [1]), BrokenAvgPool.Bug.CopiedNotDivided);
        var r = ProjectionCheck.Screen(broken, NamedTensors.Input(Samples.Distinct(Shape.Of(1, 1, 8, 8), 4)));
        var text = r.Describe();
        Assert.That(text, Does.StartWith("avg_pool2d(").And.Contain("projection screen failed: analytic "));
        Assert.That(text, Does.Contain($"64 wrong element(s) localised among 64 in {r.Projections} projection(s), {r.ForwardPasses} forward passes"));
        Assert.That(text, Does.Match(@"input\[0, 0, \d, \d\]: analytic -?[\d.]+, numeric -?[\d.]+"));
        Assert.That(text, Does.Contain("the gradient is 9x too large"));
    }

    [Test]
    public void Max_pooling_with_ties_passes_and_its_kinks_are_judged_element_by_element()
    {
        var op = MaxPool.Create(2, [2]);
        var inputs = NamedTensors.Input(Samples.Ties(Shape.Of(1, 2, 6, 6), 2));
        var dy = GradientChecker.RandomGradOutput(op.Forward(inputs).Shape, 1);

        var r = ProjectionCheck.Screen(op, inputs, dy);

        Assert.That(r.Passed, Is.True, r.Describe());
        Assert.That(r.Screen!.IsKink, Is.True, "the ties show in the projection");
        Assert.That(r.Kinks, Is.GreaterThan(0));
        AssertAgreesWithFullCheck(r, GradientChecker.Check(op, inputs, dy));
    }

    [Test]
    public void A_gradient_sent_to_the_last_tie_while_first_is_declared_is_caught_at_the_kinks()
    {
        var implementation = MaxPool.Create(2, [2], tiePolicy: TiePolicy.Last);
        var declared = MaxPool.Create(2, [2], tiePolicy: TiePolicy.First);
        var inputs = NamedTensors.Input(Samples.Ties(Shape.Of(1, 2, 6, 6), 2));
        var dy = GradientChecker.RandomGradOutput(implementation.Forward(inputs).Shape, 1);
        var full = GradientChecker.Check(implementation, inputs, dy, new GradCheckOptions { Declared = declared });

        var r = ProjectionCheck.Screen(implementation, inputs, dy, new ProjectionOptions { Declared = declared });

        Assert.That(r.Passed, Is.False);
        Assert.That(r.Failures.Select(f => f.Where), Is.SubsetOf(full.Failures.Select(f => f.Where)));
        AssertAgreesWithFullCheck(r, full);
        Assert.That(r.Describe(), Does.Contain("declared rule gives"));
        Assert.That(ProjectionCheck.Screen(implementation, inputs, dy).Passed, Is.True, "without a declared rule every tie choice is valid");
    }

    private static IEnumerable<TestCaseData> Suite() =>
        CheckSuite.All().Select(c => new TestCaseData(c).SetArgDisplayNames($"{c.Op.Name} {c.Configuration}"));

    [TestCaseSource(nameof(Suite))]
    public void Every_built_in_configuration_passes_the_screen(CheckCase c)
    {
        var r = ProjectionCheck.Screen(c.Op, c.Inputs);
        Assert.That(r.Passed, Is.True, r.Describe());
        Assert.That(r.Screened, Is.GreaterThan(0));
    }

    [Test]
    public void A_backward_that_throws_is_reported_not_thrown()
    {
        var r = ProjectionCheck.Screen(new MisbehavingOp(throws: true), NamedTensors.Input(T.Of([3], 1, 2, 3)), T.Of([3], 1, 1, 1));
        Assert.That(r.Passed, Is.False);
        Assert.That(r.Describe(), Does.Contain("projection screen could not run: InvalidOperationException: kernel exploded"));
    }

    [Test]
    public void A_disagreeing_projection_with_no_wrong_element_localised_is_not_a_pass()
    {
        var r = new ProjectionResult("op", "", new Projection(100, 1.0, 2.0, 0, 0.5, IsKink: false), [], 100, 15, 61);
        Assert.That((r.Unlocalised, r.Passed), Is.EqualTo((true, false)));
        Assert.That(r.Describe(), Does.Contain("bisection found no wrong element").And.Contain("run the full check"));
    }

    private static IEnumerable<TestCaseData> BadOptions()
    {
        yield return new TestCaseData(new ProjectionOptions { LeafSize = 0 }, "ProjectionOptions.LeafSize");
        yield return new TestCaseData(new ProjectionOptions { Step = 0 }, "ProjectionOptions.Step");
        yield return new TestCaseData(new ProjectionOptions { Step = double.NaN }, "ProjectionOptions.Step");
        yield return new TestCaseData(new ProjectionOptions { AbsoluteTolerance = -1e-8 }, "ProjectionOptions.AbsoluteTolerance");
        yield return new TestCaseData(new ProjectionOptions { RelativeTolerance = double.PositiveInfinity }, "ProjectionOptions.RelativeTolerance");
    }

    [TestCaseSource(nameof(BadOptions))]
    public void An_option_out_of_range_throws_a_parameter_exception_naming_it(ProjectionOptions options, string name)
    {
        var e = Assert.Throws<ParameterException>(() => ProjectionCheck.Screen(Activation.Tanh(), NamedTensors.Input(T.Of([2], 1, 2)), T.Of([2], 1, 1), options));
        Assert.That(e!.ParamName, Is.EqualTo(name));
        Assert.That(e.Message, Does.StartWith(name + " = "));
    }
}
