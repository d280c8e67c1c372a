using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>What ops state each element sums: enough for a correct answer in another precision, and nothing where nothing is summed.</summary>
public class MagnitudesTests
{
    private static bool Passes(IOp op, NamedTensors inputs, Tensor dy, OpResult answer, string dtype)
    {
        var expected = OpResult.Of(op, inputs, dy);
        return new AnswerComparer(dtype, DtypeTolerance.Allowances(op, inputs, dy, expected, dtype)).Same(expected, answer);
    }

    [Test]
    public void A_confident_row_in_float32_rounds_its_log_sum_to_zero_and_passes()
    {
        // In float32 Σexp(x - max) = 1 + 2e-9 rounds to 1: the loss and log-probability come out 0, as PyTorch gives them.
        var x = T.Of([1, 2], 0, -20);
        var loss = new CrossEntropy(Reduction.None);
        var inputs = new NamedTensors(("input", x), ("target", T.Of([1], 0)));
        var dy = T.Of([1], 1);
        var p = (double)(float)Math.Exp(-20);
        Assert.That(Passes(loss, inputs, dy, new OpResult(T.Of([1], 0), NamedTensors.Input(T.Of([1, 2], -p, p))), "float32"), Is.True);
        var log = new Softmax(1, log: true);
        var g = T.Of([1, 2], 1, 0.5);
        Assert.That(Passes(log, NamedTensors.Input(x), g, new OpResult(T.Of([1, 2], 0, -20), NamedTensors.Input(T.Of([1, 2], 1 - 1.5 * 1, 0.5 - 1.5 * p))), "float32"), Is.True);
    }

    [Test]
    public void Max_pooling_gives_every_input_a_window_may_route_to_a_magnitude_and_others_none()
    {
        var op = MaxPool.Create(1, [3], [1]);
        var x = T.Of([1, 1, 6], double.NaN, double.NaN, double.NaN, 1, 4, 2);
        var dy = T.Of([1, 1, 4], 1, -2, 4, 8);
        var m = op.MagnitudesOf(NamedTensors.Input(x), dy);
        // Windows: {NaN, NaN, NaN}, {NaN, NaN, 1}, {NaN, 1, 4}, {1, 4, 2}: every NaN of a NaN window may receive; so may the
        // numbers' maxima (NaN ignored); input 5 (= 2) is no window's maximum and 3 (= 1) only of the second's numbers.
        Assert.That(m.Grads["input"].ToArray(), Is.EqualTo(new double[] { 1, 3, 7, 2, 12, 0 }));
        Assert.That(m.Output.ToArray(), Has.All.EqualTo(0));
    }
}
