using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Checking;

/// <summary>
/// Precision-aware comparison with an implementation that computes in float64, float32, float16 or
/// bfloat16. Inputs are first rounded to the implementation's dtype (so both sides compute on the same
/// numbers and selections such as max pooling stay comparable); each element's allowance then comes from
/// the magnitude of what was summed to produce it, not one global rtol: for ops linear in each input
/// (convolution, linear, average pooling) that magnitude is the op applied to |inputs| (and |dy| for
/// gradients); for the others it is the element's own magnitude plus the tensor's largest.
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

    /// <summary>Per element of each expected tensor ("output", "grads.&lt;name&gt;"), the allowed absolute difference.</summary>
    public static Dictionary<string, double[]> Allowances(IOp op, NamedTensors inputs, Tensor gradOutput, Tensor output, NamedTensors grads, string dtype)
    {
        double u = UnitRoundoff(dtype), k = Factor(dtype);
        var result = new Dictionary<string, double[]>();
        bool linear = op is Convolution or Linear or AvgPool;
        Tensor? outputMagnitude = null;
        NamedTensors? gradMagnitude = null;
        if (linear)
        {
            var abs = new NamedTensors(inputs.Items.Select(i => (i.Name, Tensor.Create(i.Value.Shape, j => Math.Abs(i.Value.At(j))))).ToArray());
            outputMagnitude = op.Forward(abs);
            gradMagnitude = op.Backward(abs, Tensor.Create(gradOutput.Shape, j => Math.Abs(gradOutput.At(j))));
        }
        double gradScale = Tolerance.GradientScale(grads);
        result["output"] = Allow(output, outputMagnitude, Tolerance.MaxAbs(output));
        foreach (var (name, g) in grads.Items) result[$"grads.{name}"] = Allow(g, gradMagnitude?[name], gradScale);
        return result;

        double[] Allow(Tensor expected, Tensor? magnitude, double scale) => Enumerable.Range(0, expected.Count).Select(i =>
        {
            double e = Math.Abs(expected.At(i));
            double m = magnitude is null ? e + scale : magnitude.At(i) + e;
            // A floor for float64 at the reference cases' own tolerance.
            return k * u * m + (dtype == "float64" ? 1e-12 * scale : 0);
        }).ToArray();
    }
}
