using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;
using GradOracle.Verification;

namespace GradOracle.Tests.Verification;

/// <summary>The diagnoses that the NumPy example cannot plant, tested in process on answers built from each bug.</summary>
public class DiagnosisTests
{
    private static List<string> Explain(IOp op, NamedTensors inputs, Func<Tensor, NamedTensors, (Tensor Output, NamedTensors Grads)> bug)
    {
        var dy = GradientChecker.RandomGradOutput(op.Forward(inputs).Shape, 3);
        var item = new WorkItem("test/case", "reference", op, op.Attributes, inputs, dy);
        var ev = new Evaluation { Dtype = "float64", Inputs = inputs, GradOutput = dy, Rules = CaseRules.For(op, new Dictionary<string, string>(), strict: false) };
        ev.Expected = OpResult.Of(ev.Rules.Rule, inputs, dy);
        var (output, grads) = bug(dy, ev.Expected.Grads);
        ev.Actual = new OpResult(output, grads);
        Comparison.Judge(item, ev);
        return Diagnosis.Explain(item, ev);
    }

    [Test]
    public void Batch_norm_without_its_mean_terms_is_named()
    {
        var bn = new BatchNorm(training: true);
        var inputs = new NamedTensors(("input", Samples.Distinct(Shape.Of(3, 2, 4), 1)), ("weight", Samples.Positive(Shape.Of(2), 2)), ("bias", Samples.Scaled(Shape.Of(2), 3, 1)));
        var found = Explain(bn, inputs, (dy, right) => (bn.Forward(inputs), right.With("input", PlantedBugs.Predicted(bn, inputs, dy, "batch-norm backward without"))));
        Assert.That(found, Has.Some.StartsWith("grads.input: batch-norm backward without its mean terms"));
    }

    [Test]
    public void A_softmax_using_only_the_jacobian_diagonal_is_named()
    {
        var s = new Softmax(1);
        var inputs = NamedTensors.Input(Samples.Distinct(Shape.Of(3, 4), 1));
        var found = Explain(s, inputs, (dy, right) => (s.Forward(inputs), right.With("input", PlantedBugs.Predicted(s, inputs, dy, "softmax backward uses only"))));
        Assert.That(found, Has.Some.StartsWith("grads.input: softmax backward uses only the Jacobian's diagonal"));
    }

    [Test]
    public void A_gelu_backward_missing_the_density_term_is_named()
    {
        // The bug written out here: dx = dy·Φ(x), with Φ from MathNet's erf, leaving out x·φ(x).
        var op = new Gelu();
        var inputs = NamedTensors.Input(Samples.Distinct(Shape.Of(2, 5), 1));
        var x = inputs["input"];
        var found = Explain(op, inputs, (dy, right) => (op.Forward(inputs),
            NamedTensors.Input(Tensor.Create(x.Shape, i => dy.At(i) * 0.5 * (1 + MathNet.Numerics.SpecialFunctions.Erf(x.At(i) / Math.Sqrt(2)))))));
        Assert.That(found, Has.Some.StartsWith("grads.input: gelu backward misses the x·φ(x) term"));
    }

    [Test]
    public void A_gelu_computed_with_the_other_approximation_is_named()
    {
        var asked = new Gelu(tanh: true);
        var inputs = NamedTensors.Input(Samples.Distinct(Shape.Of(2, 5), 2));
        var exact = new Gelu();
        var found = Explain(asked, inputs, (dy, _) => (exact.Forward(inputs), exact.Backward(inputs, dy)));
        Assert.That(found, Has.Some.StartsWith("output: the exact erf form computed where approximate='tanh' was asked"));
    }

    [Test]
    public void Channels_last_data_read_as_channels_first_is_named()
    {
        var op = MaxPool.Create(2, [2]);
        var inputs = NamedTensors.Input(Samples.Distinct(Shape.Of(1, 3, 4, 4), 1));
        var found = Explain(op, inputs, (dy, right) =>
        {
            var read = inputs.With("input", Variants.ReadAsChannelsLast(inputs["input"]));
            return (Variants.WriteAsChannelsLast(op.Forward(read)),
                NamedTensors.Input(Variants.WriteAsChannelsLast(op.Backward(read, Variants.ReadAsChannelsLast(dy))["input"])));
        });
        Assert.That(found, Has.Some.Contains("read as channels-last"));
    }

    [Test]
    public void A_bias_gradient_missing_the_batch_sum_is_named()
    {
        var conv = Convolution.Create(2, padding: ConvPadding.Of(1));
        var inputs = new NamedTensors(("input", Samples.Distinct(Shape.Of(2, 2, 4, 4), 1)), ("weight", Samples.Scaled(Shape.Of(3, 2, 3, 3), 2, 0.5)), ("bias", Samples.Scaled(Shape.Of(3), 3, 0.5)));
        var found = Explain(conv, inputs, (dy, right) => (conv.Forward(inputs), right.With("bias", PlantedBugs.Predicted(conv, inputs, dy, "bias gradient misses"))));
        Assert.That(found, Has.Some.StartsWith("grads.bias: bias gradient misses the sum over the batch"));
    }

    [Test]
    public void An_off_by_one_padding_is_named_when_the_output_and_the_gradient_follow_it()
    {
        var op = AvgPool.Create(2, [3], [3]);
        var inputs = NamedTensors.Input(Samples.Distinct(Shape.Of(1, 1, 6, 6), 1));
        var padded = AvgPool.Create(2, [3], [3], [1]);
        var found = Explain(op, inputs, (dy, right) => (padded.Forward(inputs), padded.Backward(inputs, dy)));
        Assert.That(found, Has.Some.StartsWith("output: off-by-one in padding: the output and gradients match padding=[1, 1], not [0, 0]"));
    }

    [Test]
    public void An_output_that_matches_another_stride_while_the_gradient_does_not_gets_no_stride_diagnosis()
    {
        // Equal values everywhere: every window's output is the same whatever the stride, so the output alone says nothing.
        var op = MaxPool.Create(2, [2], [2]);
        var inputs = NamedTensors.Input(Tensor.Create(Shape.Of(1, 1, 6, 6), _ => 2));
        var found = Explain(op, inputs, (dy, right) => (op.Forward(inputs), NamedTensors.Input(right["input"].Scaled(3))));
        Assert.That(found, Has.None.Contains("off-by-one"));
    }

    [Test]
    public void A_float32_answer_gets_no_float64_invariant_verdicts()
    {
        // Right float32 gradients, a doubled output: the rows' sums are float32 rounding, which float64's allowance would call broken.
        var s = new Softmax(1);
        var inputs = NamedTensors.Input(DtypeTolerance.Round(Samples.Distinct(Shape.Of(2, 5), 4), "float32"));
        var dy = DtypeTolerance.Round(GradientChecker.RandomGradOutput(Shape.Of(2, 5), 3), "float32");
        var item = new WorkItem("test/case", "reference", s, s.Attributes, inputs, dy);
        var ev = new Evaluation { Dtype = "float32", Inputs = inputs, GradOutput = dy, Rules = CaseRules.For(s, new Dictionary<string, string>(), strict: false) };
        ev.Expected = OpResult.Of(s, inputs, dy);
        var grads = DtypeTolerance.Round(ev.Expected.Grads["input"], "float32");
        ev.Actual = new OpResult(ev.Expected.Output.Scaled(2), NamedTensors.Input(grads));
        Comparison.Judge(item, ev);
        Assert.That(Diagnosis.Explain(item, ev), Has.None.StartsWith("invariant broken"));
    }

    [Test]
    public void A_right_answer_gets_no_diagnosis()
    {
        var op = AvgPool.Create(2, [2]);
        var inputs = NamedTensors.Input(Samples.Distinct(Shape.Of(1, 1, 4, 4), 1));
        Assert.That(Explain(op, inputs, (dy, right) => (op.Forward(inputs), right)), Is.Empty);
    }

    [Test]
    public void A_transposed_convolution_whose_kernel_is_not_flipped_is_named()
    {
        // The bug written out: x upsampled with stride - 1 zeros, padded by K - 1 - padding, correlated with w as stored
        // (it needs w rotated); its backward is its own forward's adjoint.
        var op = ConvTranspose.Create(1, stride: [2], padding: [1]);
        var inputs = new NamedTensors(("input", Samples.Distinct(Shape.Of(2, 2, 3), 1)), ("weight", Samples.Scaled(Shape.Of(2, 3, 3), 2, 0.5)), ("bias", Samples.Scaled(Shape.Of(3), 3, 0.5)));
        var found = Explain(op, inputs, (dy, _) => Unflipped(inputs, dy, stride: 2, padding: 1));
        Assert.That(found, Has.Some.StartsWith("output: kernel not flipped"));
    }

    [Test]
    public void A_transposed_convolution_that_ignores_output_padding_is_told_the_shape_it_returned()
    {
        var op = ConvTranspose.Create(2, stride: [2], padding: [1], outputPadding: [1]);
        var inputs = new NamedTensors(("input", Samples.Distinct(Shape.Of(1, 1, 3, 3), 1)), ("weight", Samples.Scaled(Shape.Of(1, 1, 3, 3), 2, 0.5)), ("bias", Samples.Scaled(Shape.Of(1), 3, 0.5)));
        var ignoring = ConvTranspose.Create(2, stride: [2], padding: [1]);
        var found = Explain(op, inputs, (_, right) => (ignoring.Forward(inputs), right));
        Assert.That(found, Has.Some.EqualTo("shape: the output's shape (1, 1, 5, 5) is the one PyTorch's rule gives with output_padding=[0, 0] (the case has output_padding=[1, 1])"));
    }

    private static (Tensor, NamedTensors) Unflipped(NamedTensors inputs, Tensor dy, int stride, int padding)
    {
        var (x, w, b) = (inputs["input"], inputs["weight"], inputs["bias"]);
        int n = x.Shape[0], cin = x.Shape[1], length = x.Shape[2], cout = w.Shape[1], k = w.Shape[2], outLength = dy.Shape[2];
        var (y, dx, dw, db) = (new double[dy.Count], new double[x.Count], new double[w.Count], new double[cout]);
        for (int s = 0; s < n; s++)
            for (int oc = 0; oc < cout; oc++)
                for (int j = 0; j < outLength; j++)
                {
                    int o = (s * cout + oc) * outLength + j;
                    y[o] = b.At(oc);
                    db[oc] += dy.At(o);
                    for (int t = 0; t < k; t++)
                    {
                        int m = j + t - (k - 1 - padding); // the position in the upsampled input
                        if (m < 0 || m % stride != 0 || m / stride >= length) continue;
                        for (int ic = 0; ic < cin; ic++)
                        {
                            int xi = (s * cin + ic) * length + m / stride, wi = (ic * cout + oc) * k + t;
                            y[o] += x.At(xi) * w.At(wi);
                            dx[xi] += dy.At(o) * w.At(wi);
                            dw[wi] += dy.At(o) * x.At(xi);
                        }
                    }
                }
        return (Tensor.Wrap(dy.Shape, y), new NamedTensors(("input", Tensor.Wrap(x.Shape, dx)), ("weight", Tensor.Wrap(w.Shape, dw)), ("bias", Tensor.Wrap(Shape.Of(cout), db))));
    }
}
