using GradOracle.Geometry;
using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// What the pooling layers' invariants share: the preserved sum, Euler's identity, the shape check and the
/// arithmetic of their messages. Each pooling op's own invariants live in its file.
/// </summary>
public static class PoolingInvariants
{
    /// <summary>Name: what reaches the input sums to what the windows pass on.</summary>
    public const string SumPreserved = "sum(dx) = what the windows pass on";
    /// <summary>Name: Euler's identity for positively homogeneous layers.</summary>
    public const string Euler = "<x, dx> = <dy, y> (homogeneous of degree 1)";
    /// <summary>Name: the gradient has the input's shape.</summary>
    public const string ShapeMatches = "dx has the input's shape";

    /// <summary>
    /// A layer with f(a·x) = a·f(x) for a &gt; 0 satisfies &lt;x, ∇&lt;dy, f&gt;&gt; = &lt;dy, f(x)&gt; (Euler):
    /// a check on the whole gradient that needs no finite differences.
    /// </summary>
    internal static void EulerIdentity(InvariantReport.Builder r, Tensor x, Tensor dx, Tensor dy, Tensor y)
    {
        double lhs = 0, rhs = 0, mag = 0;
        for (int i = 0; i < x.Count; i++) { double t = x.At(i) * dx.At(i); lhs += t; mag += Math.Abs(t); }
        for (int j = 0; j < y.Count; j++) { double t = dy.At(j) * y.At(j); rhs += t; mag += Math.Abs(t); }
        if (double.IsFinite(lhs) && double.IsFinite(rhs)) r.SumsAgree(Euler, lhs, rhs, mag, 4 * (x.Count + y.Count));
    }

    internal static bool ShapesFit(InvariantReport.Builder r, Tensor input, Tensor dx, Tensor dy, Shape outputShape)
    {
        if (dy.Shape != outputShape)
            throw new ParameterException("grad_output.shape", dy.Shape.ToString(), $"must be the output's shape {outputShape}");
        if (dx.Shape == input.Shape) { r.Checked(ShapeMatches); return true; }
        r.Violated(ShapeMatches, $"dx has shape {dx.Shape}, the input {input.Shape}");
        return false;
    }

    internal static double Sum(ReadOnlySpan<double> v) => System.Numerics.Tensors.TensorPrimitives.Sum(v);

    internal static double SumAbs(ReadOnlySpan<double> v) => System.Numerics.Tensors.TensorPrimitives.SumOfMagnitudes(v);

    internal static string Coords(Shape s, int flat) => "[" + string.Join(", ", s.Coordinates(flat)) + "]";

    internal static string OutCoords(Shape input, WindowGeometry g, int plane, int o) =>
        $"[{plane / input[1]}, {plane % input[1]}, {string.Join(", ", g.OutputCoordinates(o))}]";
}
