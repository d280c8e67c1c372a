using System.Globalization;
using System.Text;

namespace GradOracle.Tensors;

/// <summary>
/// A float64 N-d tensor: a shape and row-major data. Immutable from outside; the library hands out
/// fresh tensors, so a caller's tensor never changes under it.
/// </summary>
public sealed class Tensor
{
    private readonly double[] data;

    private Tensor(Shape shape, double[] data)
    {
        Shape = shape;
        this.data = data;
    }

    /// <summary>The shape.</summary>
    public Shape Shape { get; }

    /// <summary>Number of elements.</summary>
    public int Count => data.Length;

    /// <summary>Row-major data.</summary>
    public ReadOnlySpan<double> Span => data;

    /// <summary>Row-major data, for kernels that read it from parallel work items (a span cannot be captured).</summary>
    internal ReadOnlyMemory<double> Memory => data;

    /// <summary>The element at row-major <paramref name="flatIndex"/>.</summary>
    public double At(int flatIndex) => data[flatIndex];

    /// <summary>The element at <paramref name="coordinates"/>.</summary>
    public double this[params int[] coordinates] => data[Shape.FlatIndex(coordinates)];

    /// <summary>A tensor of <paramref name="shape"/> holding a copy of <paramref name="data"/> (row-major).</summary>
    public static Tensor FromArray(Shape shape, ReadOnlySpan<double> data)
    {
        if (data.Length != shape.Count)
            throw new ParameterException("data", $"{data.Length} values", $"shape {shape} needs exactly {shape.Count}");
        return new Tensor(shape, data.ToArray());
    }

    /// <summary>A tensor of the given dimensions holding a copy of <paramref name="data"/>.</summary>
    public static Tensor FromArray(int[] dims, params double[] data) => FromArray(Shape.Of(dims), data);

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(Shape shape) => new(shape, new double[shape.Count]);

    /// <summary>A tensor whose element at each flat index is <paramref name="value"/>(index).</summary>
    public static Tensor Create(Shape shape, Func<int, double> value)
    {
        var d = new double[shape.Count];
        for (int i = 0; i < d.Length; i++) d[i] = value(i);
        return new Tensor(shape, d);
    }

    /// <summary>Takes ownership of <paramref name="data"/> without copying: the caller must not touch it again.</summary>
    internal static Tensor Wrap(Shape shape, double[] data)
    {
        if (data.Length != shape.Count)
            throw new ParameterException("data", $"{data.Length} values", $"shape {shape} needs exactly {shape.Count}");
        return new Tensor(shape, data);
    }

    /// <summary>
    /// The array a forward writes its output into: <paramref name="output"/> when the caller lends one (it must have
    /// the shape's size; the op overwrites every element), else a new one.
    /// </summary>
    internal static double[] OutputArray(Shape shape, double[]? output, bool uninitialized = false)
    {
        if (output is null) return uninitialized ? GC.AllocateUninitializedArray<double>(shape.Count) : new double[shape.Count];
        return output.Length == shape.Count ? output
            : throw new ParameterException("output", $"{output.Length} values", $"the output {shape} needs exactly {shape.Count}");
    }

    /// <summary>Whether this tensor's values live in <paramref name="array"/> (a reshape of a wrapped array).</summary>
    internal bool Shares(double[] array) => ReferenceEquals(data, array);

    /// <summary>A copy of this tensor with one element replaced.</summary>
    public Tensor WithElement(int flatIndex, double value)
    {
        var d = (double[])data.Clone();
        d[flatIndex] = value;
        return new Tensor(Shape, d);
    }

    /// <summary>Every element times <paramref name="factor"/>.</summary>
    public Tensor Scaled(double factor)
    {
        var d = new double[Count];
        for (int i = 0; i < d.Length; i++) d[i] = At(i) * factor;
        return FromArray(Shape, d);
    }

    /// <summary>The same data under another shape with the same element count.</summary>
    public Tensor Reshape(Shape shape)
    {
        if (shape.Count != Count)
            throw new ParameterException("shape", shape.ToString(), $"a reshape must keep the element count {Count} of {Shape}");
        return new Tensor(shape, data);
    }

    /// <summary>A copy of the data.</summary>
    public double[] ToArray() => (double[])data.Clone();

    /// <summary>Throws unless <paramref name="tensor"/> has exactly <paramref name="expected"/> as its shape.</summary>
    public static void RequireShape(string name, Tensor tensor, Shape expected)
    {
        if (tensor.Shape != expected)
            throw new ParameterException($"{name}.shape", tensor.Shape.ToString(), $"must be {expected}");
    }

    /// <summary>Nested-bracket text, shortest round-trip numbers; long tensors are elided.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("tensor").Append(Shape).Append(' ');
        if (Count > 64)
        {
            sb.Append('[');
            for (int i = 0; i < 8; i++) sb.Append(i > 0 ? ", " : "").Append(FormatNumber(data[i]));
            return sb.Append(", ...]").ToString();
        }
        AppendNested(sb, 0, 0);
        return sb.ToString();
    }

    private void AppendNested(StringBuilder sb, int axis, int offset)
    {
        if (Shape.Rank == 0) { sb.Append(FormatNumber(data[0])); return; }
        sb.Append('[');
        for (int i = 0; i < Shape[axis]; i++)
        {
            if (i > 0) sb.Append(", ");
            int at = offset + i * Shape.Strides[axis];
            if (axis == Shape.Rank - 1) sb.Append(FormatNumber(data[at]));
            else AppendNested(sb, axis + 1, at);
        }
        sb.Append(']');
    }

    /// <summary>Shortest round-trip text of a double; -0 keeps its sign.</summary>
    public static string FormatNumber(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
