using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>
/// batch_norm's channel-parallel backward against the plain serial loop over (channel, element), bit for bit, on an input
/// large enough to be split across cores.
/// </summary>
public class BatchNormBitIdentityTests
{
    [TestCase(true, true)]
    [TestCase(true, false)]
    [TestCase(false, true)]
    public void Backward_matches_the_serial_loop(bool training, bool affine)
    {
        var x = Samples.Distinct(Shape.Of(4, 6, 60, 50), 5);
        int c = 6, inner = 3000, outer = 4, m = inner * outer;
        var inputs = new NamedTensors(("input", x), ("running_mean", Samples.Scaled(Shape.Of(c), 6, 0.5)), ("running_var", Samples.Positive(Shape.Of(c), 7)));
        if (affine) inputs = inputs.With("weight", Samples.Positive(Shape.Of(c), 8)).With("bias", Samples.Scaled(Shape.Of(c), 9, 0.5));
        var op = new BatchNorm(training, affine: affine);
        var dy = Samples.With(Samples.Scaled(x.Shape, 10, 1), -0.0, 3, 70000);
        var (xHat, invStd, _) = op.Statistics(inputs);
        var (dx, dw, db) = (new double[x.Count], new double[c], new double[c]);
        for (int ch = 0; ch < c; ch++)
        {
            double w = affine ? inputs["weight"].At(ch) : 1, sumDy = 0, sumDyXHat = 0;
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                {
                    int at = (o * c + ch) * inner + i;
                    sumDy += dy.At(at);
                    sumDyXHat += dy.At(at) * xHat.At(at);
                }
            (db[ch], dw[ch]) = (sumDy, sumDyXHat);
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                {
                    int at = (o * c + ch) * inner + i;
                    double dxHat = dy.At(at) * w;
                    dx[at] = training ? invStd[ch] / m * (m * dxHat - w * sumDy - xHat.At(at) * w * sumDyXHat) : dxHat * invStd[ch];
                }
        }
        var grads = op.Backward(inputs, dy);
        Bits.AssertEqual(grads["input"].ToArray(), dx, "grad input");
        if (affine)
        {
            Bits.AssertEqual(grads["weight"].ToArray(), dw, "grad weight");
            Bits.AssertEqual(grads["bias"].ToArray(), db, "grad bias");
        }
    }
}
