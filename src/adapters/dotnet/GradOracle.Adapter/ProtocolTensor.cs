namespace GradOracle.Adapter;

/// <summary>A row-major float64 tensor as the protocol carries it (class indices are integral values).</summary>
/// <param name="Shape">The dimensions.</param>
/// <param name="Data">The values, row-major.</param>
public sealed record ProtocolTensor(long[] Shape, double[] Data)
{
    /// <summary>A tensor of <paramref name="shape"/> filled with zeros.</summary>
    public static ProtocolTensor Zeros(params long[] shape) => new(shape, new double[shape.Aggregate(1L, (a, d) => a * d)]);
}
