using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;
using GradOracle.Torch;

namespace GradOracle.Tests.Torch;

public class TorchParityTests
{
    private const int SweepSeed = 20261121;
    private const int SweepSize = 1000;
    private const int ChunkSize = 25;

    private static IEnumerable<TestCaseData> SuiteCases() =>
        CheckSuite.All().Select(c => new TestCaseData(c).SetArgDisplayNames($"{c.Op.Name} {c.Configuration}"));

    private static IEnumerable<TestCaseData> SweepChunks() =>
        Enumerable.Range(0, SweepSize / ChunkSize).Select(i => new TestCaseData(i).SetArgDisplayNames($"sweep cases {i * ChunkSize}..{i * ChunkSize + ChunkSize - 1}"));

    private static ParityResult Parity(CheckCase c, int seed = 1) =>
        TorchParity.Compare(c.Op, c.Inputs, GradientChecker.RandomGradOutput(c.Op.Forward(c.Inputs).Shape, seed));

    [Test]
    public void The_bridge_reports_libtorchs_version()
    {
        TorchRequirement.Ensure();
        Assert.That(TorchBridge.Availability.Version, Does.Match(@"^\d+\.\d+\.\d+$"));
        TestContext.Out.WriteLine(TorchBridge.Availability.Message);
    }

    [TestCaseSource(nameof(SuiteCases))]
    public void Every_built_in_case_agrees_with_libtorch_or_has_no_counterpart(CheckCase c)
    {
        TorchRequirement.Ensure();
        var r = Parity(c);
        Assert.That(r.Passed, Is.True, r.ToString());
        if (c.Op is StochasticPool) Assert.That(r.Status, Is.EqualTo(ParityStatus.NoCounterpart));
    }

    [TestCaseSource(nameof(SweepChunks))]
    public void A_seeded_sweep_of_random_configurations_agrees_with_libtorch(int chunk)
    {
        TorchRequirement.Ensure();
        var cases = RandomCases.Generate(SweepSeed, SweepSize).Skip(chunk * ChunkSize).Take(ChunkSize).ToList();
        var failures = new List<string>();
        foreach (var c in cases)
        {
            var r = Parity(c, chunk);
            if (r.Status != ParityStatus.Agree) failures.Add($"{c.Op.Name}({c.Configuration}): {r}");
        }
        Assert.That(failures, Is.Empty, string.Join(Environment.NewLine, failures));
    }

    [Test]
    public void The_sweep_is_reproducible_and_covers_every_family_and_edge()
    {
        var a = RandomCases.Generate(SweepSeed, SweepSize).ToList();
        var b = RandomCases.Generate(SweepSeed, SweepSize).ToList();
        Assert.That(a.Select(c => c.Op.Name + c.Configuration), Is.EqualTo(b.Select(c => c.Op.Name + c.Configuration)));
        Assert.That(a.Select(c => c.Op.Name).ToHashSet(), Is.SupersetOf(new[]
        {
            "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_max_pool2d", "adaptive_avg_pool3d",
            "global_max_pool2d", "global_avg_pool1d", "conv1d", "conv2d", "conv3d", "linear", "relu", "leaky_relu", "sigmoid", "tanh",
            "softmax", "log_softmax", "cross_entropy", "batch_norm", "flatten",
        }));
        Assert.That(a.SelectMany(c => c.Exercises).ToHashSet(), Is.SupersetOf(new[]
        {
            "ties", "nan", "negative-zero", "ceil-mode", "padding", "dilation", "divisor-override", "count-include-pad", "count-exclude-pad", "groups",
        }));
        Assert.That(a.Where(c => c.Op.Name.StartsWith("conv")).Select(c => c.Configuration).ToList(),
            Has.Some.Contains("padding='same'").And.Some.Contains("padding='valid'"));
        foreach (var family in new[] { "max_pool", "avg_pool", "adaptive_max_pool", "adaptive_avg_pool", "conv" })
            Assert.That(a.Select(c => c.Op.Name).Where(n => n.StartsWith(family) && n.Length == family.Length + 2).ToHashSet(),
                Is.EquivalentTo(new[] { $"{family}1d", $"{family}2d", $"{family}3d" }), $"{family} in every rank");
    }

    [Test]
    public void Ties_route_to_the_first_maximum_in_libtorch_as_in_the_oracle()
    {
        TorchRequirement.Ensure();
        var x = T.Of([1, 1, 2, 2], 5, 5, 1, 5);
        var torch = (TorchOp)TorchOp.For(MaxPool.Create(2, [2]), out _)!;
        var a = torch.Call(NamedTensors.Input(x), T.Of([1, 1, 1, 1], 3));
        Assert.That(a.Tensors["indices"].ToArray(), Is.EqualTo(new[] { 0.0 }));
        Assert.That(a.Tensors["grad.input"].ToArray(), Is.EqualTo(new[] { 3.0, 0, 0, 0 }));
    }

    [Test]
    public void Policies_libtorch_lacks_have_no_counterpart()
    {
        Assert.That(TorchOp.For(MaxPool.Create(2, [2], tiePolicy: TiePolicy.Split), out var why), Is.Null);
        Assert.That(why, Does.Contain("tie_policy=first"));
        Assert.That(TorchOp.For(StochasticPool.Create(2, [2]), out why), Is.Null);
        Assert.That(why, Does.Contain("stochastic"));
    }

    [Test]
    public void Padding_over_half_the_kernel_with_dilation_is_refused_by_both()
    {
        TorchRequirement.Ensure();
        // k = 3, p = 2, d = 2: within half the dilated kernel, over kernel_size/2; libtorch 2.10 refuses it, so the oracle does.
        var attrs = new OpAttributes(("kernel_size", new[] { 3, 3 }), ("stride", new[] { 2, 2 }), ("padding", new[] { 2, 2 }), ("dilation", new[] { 2, 2 }), ("ceil_mode", false));
        var a = TorchBridge.Call("max_pool2d", attrs, NamedTensors.Input(Samples.Distinct(Shape.Of(1, 1, 9, 9), 3)), null, []);
        Assert.That(a.Error, Does.Contain("pad should be smaller than or equal to half of kernel size"));
        Assert.That(() => MaxPool.Create(2, [3], [2], [2], [2]), Throws.TypeOf<ParameterException>());
    }

    [Test]
    public void A_libtorch_error_comes_back_as_a_message_not_a_crash()
    {
        TorchRequirement.Ensure();
        var a = TorchBridge.Call("conv2d", new OpAttributes(("stride", new[] { 1, 1 }), ("padding", new[] { 0, 0 }), ("dilation", new[] { 1, 1 }), ("groups", 1)),
            new NamedTensors(("input", Tensor.Zeros(Shape.Of(1, 3, 4, 4))), ("weight", Tensor.Zeros(Shape.Of(2, 2, 3, 3)))), null, []);
        Assert.That(a.Error, Does.Contain("expected input[1, 3, 4, 4] to have 2 channels").IgnoreCase.Or.Contain("channels"));
        var unknown = TorchBridge.Call("no_such_op", OpAttributes.None, NamedTensors.Input(Tensor.Zeros(Shape.Of(1))), null, []);
        Assert.That(unknown.Error, Does.Contain("no op 'no_such_op'"));
    }

    [Test]
    public void Libtorch_warnings_are_returned_with_the_answer_not_printed()
    {
        TorchRequirement.Ensure();
        var op = (TorchOp)TorchOp.For(Convolution.Create(1, padding: ConvPadding.Same, bias: false), out _)!;
        var a = op.Call(new NamedTensors(("input", T.Of([1, 1, 3], 1, 2, 3)), ("weight", T.Of([1, 1, 2], 1, 10))), null);
        Assert.That(a.Error, Is.Null);
        Assert.That(a.Warnings, Does.Contain("padding='same'"));
        Assert.That(a.Output.ToArray(), Is.EqualTo(new[] { 21.0, 32, 3 }), "libtorch agrees with the hand-worked 'same' padding");
    }

    [Test]
    public void A_disagreement_is_reported_with_the_worst_element()
    {
        TorchRequirement.Ensure();
        // A wrong "oracle": avg pool whose backward copies instead of dividing; libtorch must disagree on grad.input.
        var inputs = NamedTensors.Input(Samples.Distinct(Shape.Of(1, 1, 4, 4), 5));
        var broken = new Checking.BrokenAvgPool(AvgPool.Create(2, [2]), Checking.BrokenAvgPool.Bug.CopiedNotDivided);
        var torch = TorchOp.For(AvgPool.Create(2, [2]), out _)!;
        var dy = GradientChecker.RandomGradOutput(Shape.Of(1, 1, 2, 2), 1);
        Assert.That(broken.Backward(inputs, dy)["input"].ToArray(), Is.Not.EqualTo(torch.Backward(inputs, dy)["input"].ToArray()));
    }
}
