using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>
/// Linear's blocked products against the plainest loops, bit for bit: each output a dot product in index order from +0
/// plus the bias, and the backward as one serial loop over (row, output) sending g·W[o, :] to dx, g·x[r, :] to dW, g to db.
/// </summary>
public class LinearBitIdentityTests
{
    [TestCase(1, 1, 1, true, 0)]
    [TestCase(3, 5, 4, false, 1)]
    [TestCase(7, 9, 17, true, 2)]
    [TestCase(13, 130, 23, true, 3)]
    [TestCase(50, 300, 261, false, 4)]
    [TestCase(64, 257, 72, true, 5)]
    public void Forward_and_backward_match_the_serial_loops_with_special_values(int rows, int inF, int outF, bool bias, int seed)
    {
        var rng = new Random(seed);
        var x = Bits.Sprinkled(Samples.Distinct(Shape.Of(rows, inF), seed + 1), rng);
        var w = Bits.Sprinkled(Samples.Scaled(Shape.Of(outF, inF), seed + 2, 0.5), rng);
        var b = Bits.Sprinkled(Samples.Scaled(Shape.Of(outF), seed + 3, 0.5), rng);
        var dy = Bits.Sprinkled(Samples.Scaled(Shape.Of(rows, outF), seed + 4, 1), rng);
        var op = new Linear(bias);
        var inputs = bias ? new NamedTensors(("input", x), ("weight", w), ("bias", b)) : new NamedTensors(("input", x), ("weight", w));

        var y = new double[rows * outF];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outF; o++)
            {
                double s = 0;
                for (int i = 0; i < inF; i++) s += x.At(r * inF + i) * w.At(o * inF + i);
                y[r * outF + o] = (bias ? b.At(o) : 0) + s;
            }
        Bits.AssertEqual(op.Forward(inputs).ToArray(), y, "output");

        var (dx, dw, db) = (new double[x.Count], new double[w.Count], new double[outF]);
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outF; o++)
            {
                double g = dy.At(r * outF + o);
                db[o] += g;
                for (int i = 0; i < inF; i++)
                {
                    dx[r * inF + i] += w.At(o * inF + i) * g;
                    dw[o * inF + i] += x.At(r * inF + i) * g;
                }
            }
        var grads = op.Backward(inputs, dy);
        Bits.AssertEqual(grads["input"].ToArray(), dx, "grad input");
        Bits.AssertEqual(grads["weight"].ToArray(), dw, "grad weight");
        if (bias) Bits.AssertEqual(grads["bias"].ToArray(), db, "grad bias");
    }
}
