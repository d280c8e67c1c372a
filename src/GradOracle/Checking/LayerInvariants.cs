using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Checking;

/// <summary>Invariants of convolution, linear, the activations, softmax, cross-entropy and batch norm, on any gradient.</summary>
public static class LayerInvariants
{
    /// <summary>Name: convolution's bias gradient.</summary>
    public const string BiasIsSumOfGradOutput = "grad_bias = sum of grad_output over batch and space";
    /// <summary>Name: linear's weight gradient.</summary>
    public const string WeightIsProduct = "grad_weight = dY^T X";
    /// <summary>Name: relu's gradient.</summary>
    public const string ReluMask = "dx = dy * [x > 0] exactly";
    /// <summary>Name: softmax-type gradients.</summary>
    public const string RowsSumToZeroName = "each gradient row sums to zero";
    /// <summary>Name: batch norm's centred gradient.</summary>
    public const string BatchNormSum = "per channel sum(dx) = 0";
    /// <summary>Name: batch norm's gradient orthogonal to x̂ (exactly 0 only when eps = 0).</summary>
    public const string BatchNormOrthogonal = "per channel sum(dx * x_hat) = 0 (up to the eps term)";

    /// <summary>Convolution: grad_bias[c] = Σ over batch and space of grad_output[:, c].</summary>
    public static InvariantReport Convolution(Convolution op, NamedTensors inputs, Tensor gradOutput, NamedTensors gradients)
    {
        var r = new InvariantReport.Builder();
        if (!op.HasBias || !gradients.Contains("bias")) return r.Build();
        var a = AxisLayout.Of(gradOutput.Shape, 1);
        var db = gradients["bias"];
        if (db.Shape != Shape.Of(a.Length)) { r.Violated(BiasIsSumOfGradOutput, $"grad_bias has shape {db.Shape}, expected ({a.Length})"); return r.Build(); }
        for (int c = 0; c < a.Length; c++)
        {
            double sum = 0, mag = 0;
            for (int o = 0; o < a.Outer; o++) for (int i = 0; i < a.Inner; i++) { sum += gradOutput.At(a.At(o, c, i)); mag += Math.Abs(gradOutput.At(a.At(o, c, i))); }
            r.SumsAgree(BiasIsSumOfGradOutput, db.At(c), sum, mag, a.Outer * a.Inner, actual => Explain(actual, sum, a, gradOutput, c));
            if (r.Build().Broke(BiasIsSumOfGradOutput)) break;
        }
        return r.Build();
    }

    private static string Explain(double actual, double expected, AxisLayout a, Tensor dy, int c)
    {
        if (a.Outer > 1 && Math.Abs(actual * a.Outer - expected) <= 1e-9 * (Math.Abs(expected) + 1))
            return $"grad_bias is the sum divided by the batch size {a.Outer}: a mean-loss convention baked into the layer";
        double first = 0;
        for (int i = 0; i < a.Inner; i++) first += dy.At(a.At(0, c, i));
        return a.Outer > 1 && Math.Abs(actual - first) <= 1e-9 * (Math.Abs(first) + 1)
            ? "grad_bias equals the first sample's sum alone: the sum over the batch is missing" : "";
    }

    /// <summary>Linear: grad_weight = dY^T X and grad_bias = Σ dY over the leading dimensions.</summary>
    public static InvariantReport Linear(Linear op, NamedTensors inputs, Tensor gradOutput, NamedTensors gradients)
    {
        var r = new InvariantReport.Builder();
        var x = inputs["input"];
        var w = inputs["weight"];
        var dw = gradients["weight"];
        if (dw.Shape != w.Shape) { r.Violated(WeightIsProduct, $"grad_weight has shape {dw.Shape}, the weight {w.Shape}"); return r.Build(); }
        int outF = w.Shape[0], inF = w.Shape[1], rows = x.Count / Math.Max(inF, 1);
        string? bad = null;
        for (int o = 0; o < outF && bad is null; o++)
            for (int i = 0; i < inF && bad is null; i++)
            {
                double sum = 0, mag = 0;
                for (int n = 0; n < rows; n++) { double t = gradOutput.At(n * outF + o) * x.At(n * inF + i); sum += t; mag += Math.Abs(t); }
                if (Math.Abs(dw.At(o * inF + i) - sum) > Tolerance.SumRounding(rows, mag))
                    bad = $"grad_weight[{o}, {i}] = {Tensor.FormatNumber(dw.At(o * inF + i))}, (dY^T X)[{o}, {i}] = {Tensor.FormatNumber(sum)}" +
                          (rows > 1 && Math.Abs(dw.At(o * inF + i) * rows - sum) <= Tolerance.SumRounding(rows, mag) * rows ? $": divided by the batch size {rows}" : "");
            }
        if (bad is null) r.Checked(WeightIsProduct); else r.Violated(WeightIsProduct, bad);
        return r.Build();
    }

    /// <summary>relu: dx = dy·[x &gt; 0] bit for bit (other activations have no exact invariant).</summary>
    public static InvariantReport Activation(Activation op, Tensor x, Tensor dy, Tensor dx)
    {
        var r = new InvariantReport.Builder();
        if (op.Kind != ActivationKind.Relu) return r.Build();
        for (int i = 0; i < x.Count; i++)
        {
            if (double.IsNaN(x.At(i))) continue;
            double expected = x.At(i) > 0 ? dy.At(i) : 0;
            if (dx.At(i).Equals(expected) || (dx.At(i) == 0 && expected == 0)) continue;
            r.Violated(ReluMask, $"input[{string.Join(", ", x.Shape.Coordinates(i))}] = {Tensor.FormatNumber(x.At(i))}: dx = {Tensor.FormatNumber(dx.At(i))}, dy·[x > 0] = {Tensor.FormatNumber(expected)}");
            return r.Build();
        }
        r.Checked(ReluMask);
        return r.Build();
    }

    /// <summary>
    /// softmax, log_softmax and cross_entropy: along the axis every gradient row sums to zero. A row's sum
    /// is s·(1 - Σp) with s of the size of dY, so rounding scales with |dY| as well as with the row itself.
    /// </summary>
    internal static InvariantReport RowsSumToZero(Tensor x, AxisLayout a, Tensor dx, Tensor gradOutput, string axisName)
    {
        double dyScale = Tolerance.MaxAbs(gradOutput);
        var r = new InvariantReport.Builder();
        string name = $"{RowsSumToZeroName} along the {axisName}";
        if (dx.Shape != x.Shape) { r.Violated(name, $"dx has shape {dx.Shape}, the input {x.Shape}"); return r.Build(); }
        for (int o = 0; o < a.Outer; o++)
            for (int i = 0; i < a.Inner; i++)
            {
                double sum = 0, mag = 0;
                for (int k = 0; k < a.Length; k++) { sum += dx.At(a.At(o, k, i)); mag += Math.Abs(dx.At(a.At(o, k, i))) + dyScale; }
                if (Math.Abs(sum) > 4 * Tolerance.SumRounding(a.Length, mag))
                {
                    r.Violated(name, $"row (outer {o}, inner {i}) sums to {Tensor.FormatNumber(sum)} (magnitude {Tensor.FormatNumber(mag)}): " +
                        "the off-diagonal Jacobian terms (-y_i·y_j) are missing?");
                    return r.Build();
                }
            }
        r.Checked(name);
        return r.Build();
    }

    /// <summary>
    /// Batch norm in training: per channel Σ dx = 0, and Σ dx·x̂ = invstd/M·(M - Σx̂²)·Σ(dx̂·x̂) with
    /// dx̂ = dy·weight. The second is 0 when eps = 0; with eps &gt; 0, Σx̂² = M·var/(var + eps) falls short
    /// of M, leaving that small term (a missing variance term breaks it by Σ(dx̂·x̂)·invstd).
    /// </summary>
    public static InvariantReport BatchNorm(BatchNorm op, NamedTensors inputs, Tensor gradOutput, Tensor dx)
    {
        var r = new InvariantReport.Builder();
        if (!op.Training) return r.Build();
        var x = inputs["input"];
        if (dx.Shape != x.Shape) { r.Violated(BatchNormSum, $"dx has shape {dx.Shape}, the input {x.Shape}"); return r.Build(); }
        var (xHat, invStd) = op.Statistics(inputs);
        var a = AxisLayout.Of(x.Shape, 1);
        int m = a.Outer * a.Inner;
        for (int c = 0; c < a.Length; c++)
        {
            double w = op.Affine ? inputs["weight"].At(c) : 1;
            double s = 0, sm = 0, p = 0, pm = 0, xx = 0, q = 0, qm = 0;
            for (int o = 0; o < a.Outer; o++)
                for (int i = 0; i < a.Inner; i++)
                {
                    int at = a.At(o, c, i);
                    double h = xHat.At(at);
                    s += dx.At(at); sm += Math.Abs(dx.At(at));
                    p += dx.At(at) * h; pm += Math.Abs(dx.At(at) * h);
                    xx += h * h;
                    q += gradOutput.At(at) * w * h; qm += Math.Abs(gradOutput.At(at) * w * h);
                }
            double expected = invStd[c] / m * (m - xx) * q;
            if (Math.Abs(s) > 16 * Tolerance.SumRounding(m, sm))
                r.Violated(BatchNormSum, $"channel {c}: sum(dx) = {Tensor.FormatNumber(s)}: the mean term -Σdx̂/M is missing?");
            else r.Checked(BatchNormSum);
            if (Math.Abs(p - expected) > 16 * Tolerance.SumRounding(m, pm + invStd[c] * qm))
                r.Violated(BatchNormOrthogonal, $"channel {c}: sum(dx·x̂) = {Tensor.FormatNumber(p)} where {Tensor.FormatNumber(expected)} was expected: the variance term -x̂·Σ(dx̂·x̂)/M is missing?");
            else r.Checked(BatchNormOrthogonal);
        }
        return r.Build();
    }
}
