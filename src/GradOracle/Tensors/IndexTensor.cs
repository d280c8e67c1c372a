using System.Collections.Immutable;

namespace GradOracle.Tensors;

/// <summary>An integer tensor: argmax indices of max pooling, selections of stochastic pooling, class indices.</summary>
public sealed class IndexTensor
{
    /// <summary>Creates an index tensor; <paramref name="data"/> is row-major and must match the shape.</summary>
    public IndexTensor(Shape shape, ImmutableArray<long> data)
    {
        if (data.Length != shape.Count)
            throw new ParameterException("data", $"{data.Length} values", $"shape {shape} needs exactly {shape.Count}");
        Shape = shape;
        Data = data;
    }

    /// <summary>The shape.</summary>
    public Shape Shape { get; }

    /// <summary>Row-major data.</summary>
    public ImmutableArray<long> Data { get; }

    /// <summary>The element at <paramref name="coordinates"/>.</summary>
    public long this[params int[] coordinates] => Data[Shape.FlatIndex(coordinates)];

    /// <inheritdoc/>
    public override string ToString() => $"indices{Shape} [{string.Join(", ", Data.Take(64))}{(Data.Length > 64 ? ", ..." : "")}]";
}
