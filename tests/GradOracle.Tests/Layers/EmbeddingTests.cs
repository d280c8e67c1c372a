using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>embedding: rows gathered and gradients summed over repeated reads, padding_idx's defined zero, and the index rule.</summary>
public class EmbeddingTests
{
    private static NamedTensors In => new(("input", T.Of([3], 2, 0, 2)), ("weight", T.Of([3, 2], 1, 2, 3, 4, 5, 6)));

    [Test]
    public void It_reads_rows_and_sums_the_gradient_of_each_read()
    {
        var op = new Embedding();
        Assert.That(op.Forward(In).ToArray(), Is.EqualTo(new double[] { 5, 6, 1, 2, 5, 6 }));
        var dw = op.Backward(In, T.Of([3, 2], 1, 10, 100, 1000, 10000, 100000))["weight"];
        Assert.That(dw.ToArray(), Is.EqualTo(new double[] { 100, 1000, 0, 0, 10001, 100010 }));
    }

    [Test]
    public void The_padding_row_is_read_but_its_gradient_is_0_which_the_checker_requires_instead_of_finite_differences()
    {
        var op = new Embedding(paddingIdx: -1); // row 2
        Assert.That(op.Forward(In).ToArray()[0], Is.EqualTo(5));
        Assert.That(op.Backward(In, T.Of([3, 2], 1, 1, 1, 1, 1, 1))["weight"].ToArray(), Is.EqualTo(new double[] { 1, 1, 0, 0, 0, 0 }));
        var result = GradientChecker.Check(op, In);
        Assert.That(result.Passed, Is.True, result.ToString());
        var wrong = new WithPaddingGradient(op);
        Assert.That(GradientChecker.Check(wrong, In).Passed, Is.False, "a nonzero gradient on the padding row fails");
    }

    [Test]
    public void An_index_outside_the_rows_or_a_padding_idx_outside_them_is_refused()
    {
        Assert.That(Assert.Throws<ParameterException>(() => new Embedding().Forward(In.With("input", T.Of([2], 0, 3))))!.Message,
            Does.Contain("input[1]").And.Contain("0..2"));
        Assert.That(Assert.Throws<ParameterException>(() => new Embedding(paddingIdx: 3).Forward(In))!.Message, Does.Contain("padding_idx").And.Contain("-3..2"));
    }

    // The right forward, and a backward that also sends gradient to the padding row (padding_idx ignored).
    private sealed class WithPaddingGradient(Embedding op) : IOp, IHasJacobianStructure
    {
        public string Name => op.Name;
        public OpAttributes Attributes => op.Attributes;
        public IReadOnlyList<string> DifferentiableInputs => op.DifferentiableInputs;
        public Tensor Forward(NamedTensors inputs) => op.Forward(inputs);
        public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput) => new Embedding().Backward(inputs, gradOutput);
        public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) => null;
        public IReadOnlySet<int>? ConstantElements(string input, NamedTensors inputs) => op.ConstantElements(input, inputs);
    }
}
