using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>Invariants of convolution, linear, the activations, softmax, cross-entropy and batch norm, on any gradient.</summary>
public static class LayerInvariants
{
    /// <summary>Name: convolution's bias gradient.</summary>
    public const string BiasIsSumOfGradOutput = "grad_bias = sum of grad_output over batch and space";
    /// <summary>Name: linear's weight gradient.</summary>
    public const string WeightIsProduct = "grad_weight = dY^T X";
    /// <summary>Name: relu's gradient.</summary>
    public const string ReluMask = "dx = dy * [x > 0] exactly off 0, within [0, 1]·dy at 0";
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

    /// <summary>
    /// relu: dx = dy·[x &gt; 0] bit for bit away from 0, and at x = 0 a value between 0 and dy (relu has no derivative there:
    /// any slope in [0, 1] is valid). Other activations have no exact invariant.
    /// </summary>
    public static InvariantReport Activation(Activation op, Tensor x, Tensor dy, Tensor dx)
    {
        var r = new InvariantReport.Builder();
        if (op.Kind != ActivationKind.Relu) return r.Build();
        if (dx.Shape != x.Shape) { r.Violated(ReluMask, $"dx has shape {dx.Shape}, the input {x.Shape}"); return r.Build(); }
        for (int i = 0; i < x.Count; i++)
        {
            double v = x.At(i), d = dx.At(i), g = dy.At(i);
            if (double.IsNaN(v)) continue;
            bool ok = v > 0 ? d.Equals(g) : v < 0 ? d == 0 : d >= Math.Min(0, g) && d <= Math.Max(0, g);
            if (ok) continue;
            r.Violated(ReluMask, $"input[{string.Join(", ", x.Shape.Coordinates(i))}] = {Tensor.FormatNumber(v)}: dx = {Tensor.FormatNumber(d)}, " +
                (v == 0 ? $"outside [0, 1]·dy = [{Tensor.FormatNumber(Math.Min(0, g))}, {Tensor.FormatNumber(Math.Max(0, g))}]" : $"dy·[x > 0] = {Tensor.FormatNumber(v > 0 ? g : 0)}"));
            return r.Build();
        }
        r.Checked(ReluMask);
        return r.Build();
    }

    /// <summary>
    /// softmax, log_softmax and cross_entropy: along the axis every gradient row sums to zero. The sum cancels, so its
    /// rounding is measured against what the row's elements sum (<paramref name="magnitude"/>, the op's
    /// <see cref="IHasMagnitudes"/> of dx), not against the row itself.
    /// </summary>
    internal static InvariantReport RowsSumToZero(Tensor x, AxisLayout a, Tensor dx, Tensor magnitude, string axisName)
    {
        var r = new InvariantReport.Builder();
        string name = $"{RowsSumToZeroName} along the {axisName}";
        if (dx.Shape != x.Shape) { r.Violated(name, $"dx has shape {dx.Shape}, the input {x.Shape}"); return r.Build(); }
        for (int o = 0; o < a.Outer; o++)
            for (int i = 0; i < a.Inner; i++)
            {
                double sum = 0, mag = 0;
                for (int k = 0; k < a.Length; k++) { sum += dx.At(a.At(o, k, i)); mag += magnitude.At(a.At(o, k, i)) + Math.Abs(dx.At(a.At(o, k, i))); }
                if (!double.IsFinite(sum) || Math.Abs(sum) > 4 * Tolerance.SumRounding(a.Length, mag))
                {
                    r.Violated(name, $"row (outer {o}, inner {i}) sums to {Tensor.FormatNumber(sum)}; its elements sum {Tensor.FormatNumber(mag)} in magnitude, " +
                        $"so rounding allows {Tensor.FormatNumber(4 * Tolerance.SumRounding(a.Length, mag))}");
                    return r.Build();
                }
            }
        r.Checked(name);
        return r.Build();
    }

    /// <summary>
    /// Batch norm in training: per channel Σ dx = 0, and Σ dx·x̂ = invstd/M·(M - Σx̂²)·Σ(dx̂·x̂) with
    /// dx̂ = dy·weight. The second is 0 when eps = 0; with eps &gt; 0, Σx̂² = M·var/(var + eps) falls short
    /// of M, leaving that small term. Both sums cancel (with two values per channel dx itself is rounding),
    /// so their allowances come from what dx's elements sum (<see cref="Layers.BatchNorm.MagnitudesOf"/>) and
    /// the rounding of x̂, never from dx.
    /// </summary>
    public static InvariantReport BatchNorm(BatchNorm op, NamedTensors inputs, Tensor gradOutput, Tensor dx)
    {
        var r = new InvariantReport.Builder();
        if (!op.Training) return r.Build();
        var x = inputs["input"];
        if (dx.Shape != x.Shape) { r.Violated(BatchNormSum, $"dx has shape {dx.Shape}, the input {x.Shape}"); return r.Build(); }
        var (xHat, invStd, xHatMagnitude) = op.Statistics(inputs);
        var magnitude = op.MagnitudesOf(inputs, gradOutput).Grads["input"];
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
                    double h = xHat.At(at), big = xHatMagnitude[at];
                    s += dx.At(at); sm += magnitude.At(at) + Math.Abs(dx.At(at));
                    p += dx.At(at) * h; pm += (magnitude.At(at) + Math.Abs(dx.At(at))) * big;
                    xx += h * h;
                    q += gradOutput.At(at) * w * h; qm += Math.Abs(gradOutput.At(at) * w) * big;
                }
            double expected = invStd[c] / m * (m - xx) * q;
            double allowSum = 16 * Tolerance.SumRounding(m, sm), allowDot = 16 * Tolerance.SumRounding(m, pm + invStd[c] * qm * (1 + xx / m));
            if (!double.IsFinite(s) || Math.Abs(s) > allowSum)
                r.Violated(BatchNormSum, $"channel {c}: sum(dx) = {Tensor.FormatNumber(s)}, where rounding allows {Tensor.FormatNumber(allowSum)} (dx's elements sum {Tensor.FormatNumber(sm)} in magnitude)");
            else r.Checked(BatchNormSum);
            if (!double.IsFinite(p) || Math.Abs(p - expected) > allowDot)
                r.Violated(BatchNormOrthogonal, $"channel {c}: sum(dx·x̂) = {Tensor.FormatNumber(p)} where {Tensor.FormatNumber(expected)} was expected, and rounding allows {Tensor.FormatNumber(allowDot)}");
            else r.Checked(BatchNormOrthogonal);
        }
        return r.Build();
    }
}
