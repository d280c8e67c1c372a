namespace GradOracle.Tensors;

/// <summary>
/// Reductions added in index order. A vectorised reduction's order depends on the machine's vector width,
/// so its last bits do too; golden values must be the same on every machine.
/// </summary>
internal static class OrderedSums
{
    /// <summary>x[0] + x[1] + ... in that order.</summary>
    public static double Sum(ReadOnlySpan<double> x)
    {
        double s = 0;
        foreach (var v in x) s += v;
        return s;
    }

    /// <summary>x[0]² + x[1]² + ... in that order.</summary>
    public static double SumOfSquares(ReadOnlySpan<double> x)
    {
        double s = 0;
        foreach (var v in x) s += v * v;
        return s;
    }

    /// <summary>x[0]·y[0] + x[1]·y[1] + ... in that order, each product rounded before it is added.</summary>
    public static double Dot(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        if (x.Length != y.Length) throw new ArgumentException("spans differ in length");
        double s = 0;
        for (int i = 0; i < x.Length; i++) s += x[i] * y[i];
        return s;
    }
}
