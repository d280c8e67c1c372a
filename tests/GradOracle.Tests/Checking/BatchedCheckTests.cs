using System.Collections.Concurrent;
using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Checking;

public class BatchedCheckTests
{
    /// <summary>Counts single forward passes; keeps the wrapped op's Jacobian structure.</summary>
    private class Plain(IOp op) : IOp, IHasJacobianStructure
    {
        private int forwards;
        protected IOp Op => op;
        public int Forwards => forwards;
        public string Name => op.Name;
        public OpAttributes Attributes => op.Attributes;
        public IReadOnlyList<string> DifferentiableInputs => op.DifferentiableInputs;
        public Tensor Forward(NamedTensors inputs) { Interlocked.Increment(ref forwards); return op.Forward(inputs); }
        public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput) => op.Backward(inputs, gradOutput);
        public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) =>
            (op as IHasJacobianStructure)?.StructureOf(input, inputs, outputShape);
        public bool IsSmooth => op is IHasJacobianStructure { IsSmooth: true };
        public IReadOnlySet<int>? ConstantElements(string input, NamedTensors inputs) => (op as IHasJacobianStructure)?.ConstantElements(input, inputs);
    }

    /// <summary>The same op, also batched: records how many forwards each ForwardAll call carries.</summary>
    private sealed class Batched(IOp op) : Plain(op), IBatchedForward
    {
        private readonly ConcurrentQueue<int> calls = new();
        public IReadOnlyList<int> Calls => [.. calls];
        public IReadOnlyList<Tensor> ForwardAll(IReadOnlyList<NamedTensors> inputs)
        {
            calls.Enqueue(inputs.Count);
            return inputs.Select(Op.Forward).ToList();
        }
    }

    // One case per op and first exercise: pooling with ties and NaN (kinks refined element by element), every
    // other layer, and the networks (no Jacobian structure: element by element throughout).
    private static IEnumerable<TestCaseData> Cases() =>
        CheckSuite.All().DistinctBy(c => (c.Op.Name, c.Exercises.FirstOrDefault()))
            .Select(c => new TestCaseData(c).SetArgDisplayNames($"{c.Op.Name} {c.Configuration}"));

    private static IEnumerable<(long, long, long, long, long, long, bool, ElementVerdict, string?)> Bits(GradCheckResult r) =>
        r.Elements.Select(e => (BitConverter.DoubleToInt64Bits(e.Numeric), BitConverter.DoubleToInt64Bits(e.ErrorEstimate),
            BitConverter.DoubleToInt64Bits(e.LeftSlope), BitConverter.DoubleToInt64Bits(e.RightSlope),
            BitConverter.DoubleToInt64Bits(e.Lower), BitConverter.DoubleToInt64Bits(e.Upper), e.IsKink, e.Verdict, e.Note));

    [TestCaseSource(nameof(Cases))]
    public void A_batched_op_gets_bit_for_bit_the_results_of_the_plain_op(CheckCase c)
    {
        var dy = GradientChecker.RandomGradOutput(c.Op.Forward(c.Inputs).Shape, 1);
        foreach (bool compress in new[] { true, false })
        {
            // 5 points for the plain op too: an implementation behind a batched forward is never trusted to be smooth,
            // so it never gets ThreePointFirst's shortcut (pinned in ThreePointFirstTests).
            var options = new GradCheckOptions { Compress = compress, ThreePointFirst = false };
            var batched = new Batched(c.Op);
            var viaBatches = GradientChecker.Check(batched, c.Inputs, dy, options);
            var plain = GradientChecker.Check(c.Op, c.Inputs, dy, options);
            Assert.That(batched.Calls, Is.Not.Empty, "the batched path was taken");
            Assert.That(viaBatches.Error, Is.EqualTo(plain.Error));
            Assert.That(Bits(viaBatches), Is.EqualTo(Bits(plain)), $"compress = {compress}");
        }
    }

    [Test]
    public void A_batched_op_gets_the_same_forwards_in_a_few_calls()
    {
        // input (1, 2, 6, 6): 2 channels x 3x3 window span = 18 colours; weight (2, 2, 3, 3): 2 x 9 = 18; bias: 1.
        var op = Convolution.Create(2, padding: ConvPadding.Of(1));
        var inputs = new NamedTensors(("input", Samples.Distinct(Shape.Of(1, 2, 6, 6), 4)),
            ("weight", Samples.Scaled(Shape.Of(2, 2, 3, 3), 5, 0.5)), ("bias", Samples.Scaled(Shape.Of(2), 6, 0.5)));
        var dy = GradientChecker.RandomGradOutput(op.Forward(inputs).Shape, 1);
        var plain = new Plain(op);
        var batched = new Batched(op);
        Assert.That(GradientChecker.Check(plain, inputs, dy, new GradCheckOptions { ThreePointFirst = false }).Passed, Is.True);
        var r = GradientChecker.Check(batched, inputs, dy);
        Assert.That(r.Passed, Is.True, r.Describe());
        Assert.That(r.Kinks, Is.Zero, "no refinement passes");
        Assert.That(batched.Calls, Is.EqualTo(new[] { 64, 8, 64, 8, 4 }), "16 colours (64 forwards) per call, per input");
        Assert.That(batched.Forwards, Is.EqualTo(1), "only the unmoved pass alone");
        Assert.That(batched.Calls.Sum() + batched.Forwards, Is.EqualTo(plain.Forwards), "the same passes as one by one");
    }

    [Test]
    public void Kinks_are_refined_a_colour_at_a_time_in_a_few_calls_not_element_by_element()
    {
        // Max pooling 2x2 over values 0, 1, 2: many windows tie; 4 colours, each refined at steps h/16, h/256, h/4096.
        var op = MaxPool.Create(2, [2]);
        var inputs = NamedTensors.Input(Samples.Ties(Shape.Of(1, 2, 8, 8), 2));
        var dy = GradientChecker.RandomGradOutput(op.Forward(inputs).Shape, 1);
        var batched = new Batched(op);
        var r = GradientChecker.Check(batched, inputs, dy);
        Assert.That(r.Passed, Is.True, r.Describe());
        Assert.That(r.Kinks, Is.GreaterThan(8), "ties stay kinks through every refinement");
        // The compressed pass (4 colours, 16 forwards, one call), then one call per refinement level.
        Assert.That(batched.Calls, Is.EqualTo(new[] { 16, 16, 16, 16 }));
        var plain = GradientChecker.Check(op, inputs, dy, new GradCheckOptions { Compress = false });
        Assert.That(Bits(r), Is.EqualTo(Bits(plain)), "the numbers of refining each element alone");
    }

    [Test]
    public void Element_by_element_a_batched_op_gets_the_four_stencil_points_of_an_element_in_one_call()
    {
        var op = AvgPool.Create(2, [3], [2], [1]);
        var inputs = NamedTensors.Input(Samples.Distinct(Shape.Of(1, 2, 5, 5), 7));
        var batched = new Batched(op);
        var r = GradientChecker.Check(batched, inputs, 1, new GradCheckOptions { Compress = false });
        Assert.That(r.Passed, Is.True, r.Describe());
        Assert.That(batched.Calls, Has.Count.EqualTo(50).And.All.EqualTo(4));
    }
}
