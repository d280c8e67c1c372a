using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace GradOracle.Layers;

/// <summary>Convolution padding: explicit per spatial dimension, "valid" (none) or "same" (output size = input size).</summary>
public sealed class ConvPadding
{
    private readonly int[]? values;

    private ConvPadding(string kind, int[]? values)
    {
        Kind = kind;
        this.values = values;
    }

    /// <summary>No padding.</summary>
    public static ConvPadding Valid { get; } = new("valid", null);

    /// <summary>Pads so the output has the input's size (stride 1 only); odd total padding puts the extra cell after, as PyTorch does.</summary>
    public static ConvPadding Same { get; } = new("same", null);

    /// <summary>Explicit zero padding on both sides: one value for every dimension, or one per dimension.</summary>
    public static ConvPadding Of(params int[] values) => new("explicit", (int[])values.Clone());

    /// <summary>"valid", "same" or "explicit".</summary>
    public string Kind { get; }

    /// <summary>Padding (before, after) per axis for the given kernel sizes and dilations.</summary>
    internal (int Before, int After)[] Resolve(int rank, int[] kernel, int[] dilation)
    {
        var r = new (int, int)[rank];
        for (int i = 0; i < rank; i++)
        {
            if (Kind == "valid") r[i] = (0, 0);
            else if (Kind == "same")
            {
                int total = dilation[i] * (kernel[i] - 1);
                r[i] = (total / 2, total - total / 2);
            }
            else
            {
                int p = PoolingWindows.Expand("padding", values!, rank, 0)[i];
                r[i] = (p, p);
            }
        }
        return r;
    }

    /// <summary>The attribute value: the per-dimension padding, or "same" / "valid".</summary>
    internal object Value(int rank) => Kind == "explicit" ? PoolingWindows.Expand("padding", values!, rank, 0) : Kind;

    /// <inheritdoc/>
    public override string ToString() => Kind == "explicit" ? PoolingWindows.Show(values!) : $"'{Kind}'";
}
