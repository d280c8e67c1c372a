using System.Collections.Immutable;

namespace GradOracle.Tensors;

/// <summary>The dimensions of a row-major tensor. Immutable; equal when the dimensions are equal.</summary>
public sealed class Shape : IEquatable<Shape>
{
    private readonly ImmutableArray<int> dims;
    private readonly ImmutableArray<int> strides;

    private Shape(ImmutableArray<int> dims)
    {
        this.dims = dims;
        long total = Limits.Product(dims.Select(d => (long)d));
        Limits.CheckElements("shape", Format(dims), total, "a tensor of this shape");
        var s = new int[dims.Length];
        long stride = 1;
        for (int axis = dims.Length - 1; axis >= 0; axis--)
        {
            // An empty tensor's strides past a zero dimension never address anything; they only must not overflow.
            s[axis] = (int)Math.Min(stride, int.MaxValue);
            stride = Math.Min(stride * Math.Max(dims[axis], 1), int.MaxValue);
        }
        strides = ImmutableArray.Create(s);
        Count = (int)total;
    }

    /// <summary>A shape with the given dimensions, each at least 0.</summary>
    public static Shape Of(params int[] dims) => Of((ReadOnlySpan<int>)dims);

    /// <summary>A shape with the given dimensions, each at least 0.</summary>
    public static Shape Of(ReadOnlySpan<int> dims)
    {
        for (int i = 0; i < dims.Length; i++)
            if (dims[i] < 0)
                throw new ParameterException($"shape[{i}]", dims[i].ToString(), "a dimension must be at least 0");
        return new Shape(ImmutableArray.Create(dims.ToArray()));
    }

    /// <summary>Number of dimensions.</summary>
    public int Rank => dims.Length;

    /// <summary>Number of elements (the product of the dimensions).</summary>
    public int Count { get; }

    /// <summary>The dimensions.</summary>
    public ImmutableArray<int> Dimensions => dims;

    /// <summary>Row-major strides, in elements.</summary>
    public ImmutableArray<int> Strides => strides;

    /// <summary>The size of dimension <paramref name="axis"/>.</summary>
    public int this[int axis] => dims[axis];

    /// <summary>Product of the dimensions from <paramref name="fromAxis"/> on (1 when none remain).</summary>
    public int CountFrom(int fromAxis)
    {
        int n = 1;
        for (int i = fromAxis; i < dims.Length; i++) n *= dims[i];
        return n;
    }

    /// <summary>The dimensions from <paramref name="fromAxis"/> on.</summary>
    public int[] Slice(int fromAxis) => dims.AsSpan()[fromAxis..].ToArray();

    /// <summary>Row-major flat index of <paramref name="coordinates"/>, checked against the bounds.</summary>
    public int FlatIndex(ReadOnlySpan<int> coordinates)
    {
        if (coordinates.Length != Rank)
            throw new ArgumentException($"coordinates have {coordinates.Length} entries, the shape {this} has rank {Rank}");
        int flat = 0;
        for (int i = 0; i < coordinates.Length; i++)
        {
            if ((uint)coordinates[i] >= (uint)dims[i])
                throw new ArgumentOutOfRangeException(nameof(coordinates), $"coordinate {i} = {coordinates[i]} is outside 0..{dims[i] - 1} of shape {this}");
            flat += coordinates[i] * strides[i];
        }
        return flat;
    }

    /// <summary>Coordinates of the element at row-major <paramref name="flatIndex"/>.</summary>
    public int[] Coordinates(int flatIndex)
    {
        if ((uint)flatIndex >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(flatIndex), $"flat index {flatIndex} is outside 0..{Count - 1} of shape {this}");
        var c = new int[Rank];
        for (int i = 0; i < Rank; i++)
        {
            c[i] = flatIndex / strides[i];
            flatIndex -= c[i] * strides[i];
        }
        return c;
    }

    /// <inheritdoc/>
    public bool Equals(Shape? other) => other is not null && dims.AsSpan().SequenceEqual(other.dims.AsSpan());

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Shape);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var d in dims) h.Add(d);
        return h.ToHashCode();
    }

    /// <summary>Shapes with equal dimensions.</summary>
    public static bool operator ==(Shape? a, Shape? b) => a is null ? b is null : a.Equals(b);

    /// <summary>Shapes with different dimensions.</summary>
    public static bool operator !=(Shape? a, Shape? b) => !(a == b);

    /// <summary>PyTorch-like text: (2, 3, 4).</summary>
    public override string ToString() => Format(dims);

    private static string Format(IEnumerable<int> dims) => "(" + string.Join(", ", dims) + ")";
}
