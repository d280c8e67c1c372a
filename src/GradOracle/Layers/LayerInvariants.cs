using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>An invariant several ops share (softmax, log_softmax, cross_entropy); each op's own invariants live in its file.</summary>
public static class LayerInvariants
{
    /// <summary>Name: softmax-type gradients.</summary>
    public const string RowsSumToZeroName = "each gradient row sums to zero";

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

}
