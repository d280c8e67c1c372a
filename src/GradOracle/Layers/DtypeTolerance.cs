using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// Precision-aware comparison with an implementation that computes in float64, float32, float16 or
/// bfloat16. Inputs are first rounded to the implementation's dtype (so both sides compute on the same
/// numbers and selections such as max pooling stay comparable); each element's allowance then comes from
/// the magnitude of what was summed to produce it, not one global rtol, as the op states it
/// (<see cref="IHasMagnitudes"/>: for convolution, linear and average pooling the op applied to |inputs| and
/// |dy|; for batch norm, softmax and cross-entropy the terms that cancel); for the others it is the element's
/// own magnitude plus the tensor's largest.
/// </summary>
public static class DtypeTolerance
{
    /// <summary>Unit roundoff of a dtype.</summary>
    public static double UnitRoundoff(string dtype) => dtype switch
    {
        "float64" => Math.Pow(2, -53),
        "float32" => Math.Pow(2, -24),
        "float16" => Math.Pow(2, -11),
        "bfloat16" => Math.Pow(2, -8),
        _ => throw new ParameterException("dtype", dtype, "must be float64, float32, float16 or bfloat16"),
    };

    /// <summary>A float64 rounded to the nearest value of <paramref name="dtype"/> (ties to even).</summary>
    public static double Round(double v, string dtype) => dtype switch
    {
        "float64" => v,
        "float32" => (float)v,
        "float16" => (double)(Half)v,
        "bfloat16" => RoundBfloat16(v),
        _ => throw new ParameterException("dtype", dtype, "must be float64, float32, float16 or bfloat16"),
    };

    private static double RoundBfloat16(double v)
    {
        float f = (float)v;
        if (float.IsNaN(f) || float.IsInfinity(f)) return f;
        uint bits = BitConverter.SingleToUInt32Bits(f);
        bits += 0x7FFF + ((bits >> 16) & 1); // round to nearest even on the upper 16 bits
        return BitConverter.UInt32BitsToSingle(bits & 0xFFFF0000);
    }

    /// <summary>A tensor rounded elementwise to <paramref name="dtype"/>.</summary>
    public static Tensor Round(Tensor t, string dtype) => dtype == "float64" ? t : Tensor.Create(t.Shape, i => Round(t.At(i), dtype));

    /// <summary>Rounds every tensor of <paramref name="inputs"/> to <paramref name="dtype"/> (class indices are integers and stay exact).</summary>
    public static NamedTensors Round(NamedTensors inputs, string dtype) =>
        new(inputs.Items.Select(i => (i.Name, Round(i.Value, dtype))).ToArray());

    /// <summary>How many units of roundoff of the summed magnitude an element may be off.</summary>
    public static double Factor(string dtype) => dtype == "float64" ? 64 : 32;

    /// <summary>
    /// Per element of each expected tensor ("output", "grads.&lt;name&gt;"), the allowed absolute difference; null where the
    /// op's results are compared exactly. An op that states its magnitudes (<see cref="IHasMagnitudes"/>) gets a few units
    /// of roundoff of what each element sums (0, exact, where it sums nothing: a selection); the others the element's
    /// own magnitude plus its tensor's largest.
    /// </summary>
    public static Dictionary<string, double[]?> Allowances(IOp op, NamedTensors inputs, Tensor gradOutput, OpResult expected, string dtype)
    {
        double u = UnitRoundoff(dtype), k = Factor(dtype);
        var result = new Dictionary<string, double[]?>();
        var magnitudes = (op as IHasMagnitudes)?.MagnitudesOf(inputs, gradOutput);
        if (magnitudes is null && Tolerance.ComparesExactly(op))
        {
            foreach (var key in expected.Keys) result[key] = null;
            return result;
        }
        double gradScale = Tolerance.GradientScale(expected.Grads);
        foreach (var key in expected.Keys)
        {
            var e = expected[key]!;
            var m = magnitudes?[key];
            double scale = key == "output" ? Tolerance.MaxAbs(e) : gradScale;
            // A floor for float64 at the reference cases' own tolerance, where an element sums anything at all.
            double floor = dtype == "float64" ? 1e-12 * scale : 0;
            result[key] = Enumerable.Range(0, e.Count).Select(i =>
            {
                double own = Math.Abs(e.At(i));
                if (m is not null && double.IsFinite(m.At(i))) return m.At(i) == 0 ? 0 : k * u * (m.At(i) + own) + floor;
                return k * u * (own + scale) + floor;
            }).ToArray();
        }
        return result;
    }
}
