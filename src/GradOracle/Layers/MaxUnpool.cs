using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// max_unpool{r}d(input, indices, kernel_size, stride, padding, output_size), as torch.nn.functional defines it: a zero
/// output of (in - 1)·stride - 2·padding + kernel_size per spatial dimension (or output_size, within stride of that), and
/// each input element written at its index, a flat position within its (n, c) plane (max pooling's return_indices). The
/// backward gathers: dx = dy at each index. Indices must be distinct within a plane: with a repeat PyTorch's output
/// depends on the order of its writes and its backward is no derivative of it, so the oracle refuses them.
/// </summary>
public sealed class MaxUnpool : IOp, IHasJacobianStructure
{
    private readonly int[] kernel, stride, padding;
    private readonly int[]? outputSize;
    // Bug hypothesis only: indices read as flat positions over the whole (N, C, *) output instead of within each plane.
    private readonly bool global;

    private MaxUnpool(int rank, int[] kernel, int[] stride, int[] padding, int[]? outputSize, bool global = false)
    {
        Rank = rank;
        (this.kernel, this.stride, this.padding, this.outputSize, this.global) = (kernel, stride, padding, outputSize, global);
    }

    /// <summary>max_unpool{r}d with PyTorch's defaults (stride = kernel_size, padding 0, the default output size).</summary>
    public static MaxUnpool Create(int rank, int[] kernelSize, int[]? stride = null, int[]? padding = null, int[]? outputSize = null)
    {
        PoolingWindows.CheckRank(rank);
        var k = PoolingWindows.Expand("kernel_size", kernelSize, rank, 1);
        var s = stride is null ? k : PoolingWindows.Expand("stride", stride, rank, 1);
        var p = PoolingWindows.Expand("padding", padding ?? [0], rank, 0);
        if (outputSize is not null && outputSize.Length != rank)
            throw new ParameterException("output_size", PoolingWindows.Show(outputSize), $"needs {rank} sizes, one per spatial dimension");
        return new MaxUnpool(rank, k, s, p, outputSize);
    }

    /// <summary>max_unpool{r}d.</summary>
    public static OpDescriptor<MaxUnpool> Descriptor { get; } = new()
    {
        Name = "max_unpool{r}d",
        Inputs = [new("input"), new("indices", Differentiable: false, Integral: true)],
        Attributes =
        [
            new("kernel_size", "a positive integer or one per spatial dimension"),
            new("stride", "a positive integer or one per spatial dimension", "kernel_size"),
            new("padding", "a non-negative integer or one per spatial dimension", "0"),
            new("output_size", "the spatial sizes, each within stride of the default", "None"),
        ],
        Build = a => Create(a.Rank, a.Ints("kernel_size"), a.OptionalInts("stride"), a.Ints("padding", [0]), a.OptionalInts("output_size")),
        Exact = _ => true,
        KnownBugs = (u, inputs, dy) =>
        [
            BugHypothesis.InWholeAnswer("output: indices read as flat positions over the whole (N, C, *) output instead of within each (n, c) plane",
                () => inputs["input"].Shape[0] * inputs["input"].Shape[1] > 1 ? OpResult.Of(new MaxUnpool(u.Rank, u.kernel, u.stride, u.padding, u.outputSize, global: true), inputs, dy) : null),
        ],
        Examples = () =>
        [
            Example(Create(1, [2]), Shape.Of(1, 2, 3), 575, "basic"),
            Example(Create(1, [3], stride: [2], padding: [1]), Shape.Of(2, 1, 3), 572, "stride", "padding"),
            Example(Create(1, [2], outputSize: [7]), Shape.Of(1, 1, 3), 576, "output-size"),
            Example(Create(2, [2]), Shape.Of(1, 2, 2, 2), 571, "basic"),
            Example(Create(2, [2], outputSize: [5, 4]), Shape.Of(1, 1, 2, 2), 573, "output-size"),
            Example(Create(2, [3, 2], stride: [2, 2], padding: [1, 0]), Shape.Of(2, 1, 2, 2), 577, "stride", "padding"),
            Example(Create(3, [2]), Shape.Of(1, 2, 2, 1, 2), 578, "basic"),
            Example(Create(3, [2, 1, 2]), Shape.Of(1, 1, 2, 2, 1), 574, "unequal-kernel"),
            Example(Create(3, [1, 2, 2], outputSize: [2, 5, 4]), Shape.Of(1, 1, 2, 2, 2), 579, "output-size"),
        ],
        DrawCase = d =>
        {
            var k = d.Ints(d.Rank, 1, 3);
            var size = d.Spatial.Select(n => Math.Min(n, d.Rank == 3 ? 3 : 4)).ToArray();
            var grown = d.OneIn(3) ? k.Select(v => v > 1 ? 1 : 0).ToArray() : new int[d.Rank];
            var defaults = size.Select((n, i) => (n - 1) * k[i] + k[i]).ToArray();
            var op = Create(d.Rank, k, outputSize: grown.Any(g => g > 0) ? defaults.Select((v, i) => v + grown[i]).ToArray() : null);
            if (grown.Any(g => g > 0)) d.Exercises("output-size");
            return d.Case(op, Inputs(op, Shape.Of([d.Batch, d.Channels, .. size]), d.DataSeed, d.Rng));
        },
        DrawWeight = 0.25,
    };

    private static CheckCase Example(MaxUnpool op, Shape input, int seed, params string[] exercises) => new(op, Inputs(op, input, seed, new Random(seed)), exercises);

    /// <summary>An input and, per element, a position inside its own window (as max pooling's argmax is), distinct within each plane.</summary>
    private static NamedTensors Inputs(MaxUnpool op, Shape input, int seed, Random rng)
    {
        var outSizes = op.OutputSizes(input);
        var inSizes = input.Slice(2);
        var index = new double[input.Count];
        int planes = input[0] * input[1], inPlane = input.CountFrom(2);
        for (int q = 0; q < planes; q++)
        {
            var used = new HashSet<int>();
            for (int e = 0; e < inPlane; e++)
            {
                int at = -1;
                for (int attempt = 0; attempt < 20 && at < 0; attempt++)
                {
                    int flat = 0, rest = e;
                    var c = new int[op.Rank];
                    for (int a = op.Rank - 1; a >= 0; a--) { c[a] = rest % inSizes[a]; rest /= inSizes[a]; }
                    for (int a = 0; a < op.Rank; a++)
                    {
                        int lo = Math.Max(0, c[a] * op.stride[a] - op.padding[a]), hi = Math.Min(outSizes[a], c[a] * op.stride[a] - op.padding[a] + op.kernel[a]);
                        flat = flat * outSizes[a] + (hi > lo ? lo + rng.Next(hi - lo) : Math.Min(lo, outSizes[a] - 1));
                    }
                    if (used.Add(flat)) at = flat;
                }
                if (at < 0) at = Enumerable.Range(0, outSizes.Aggregate(1, (p, v) => p * v)).First(used.Add); // overlapping windows: any free one
                index[q * inPlane + e] = at;
            }
        }
        return new(("input", Samples.Distinct(input, seed)), ("indices", Tensor.Wrap(input, index)));
    }

    /// <summary>Spatial rank.</summary>
    public int Rank { get; }

    /// <inheritdoc/>
    public string Name => $"max_unpool{Rank}d";

    /// <inheritdoc/>
    public OpAttributes Attributes => outputSize is null
        ? new(("kernel_size", kernel), ("stride", stride), ("padding", padding))
        : new(("kernel_size", kernel), ("stride", stride), ("padding", padding), ("output_size", outputSize));

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    private int[] OutputSizes(Shape input)
    {
        if (input.Rank != Rank + 2)
            throw new ParameterException("input.shape", input.ToString(), $"{Name} takes (N, C, {string.Join(", ", Enumerable.Range(1, Rank).Select(i => "D" + i))}): rank {Rank + 2}");
        var sizes = new int[Rank];
        for (int a = 0; a < Rank; a++)
        {
            int standard = (input[a + 2] - 1) * stride[a] - 2 * padding[a] + kernel[a];
            sizes[a] = outputSize?[a] ?? standard;
            if (outputSize is not null && !(sizes[a] > standard - stride[a] && sizes[a] < standard + stride[a]))
                throw new ParameterException("output_size", PoolingWindows.Show(outputSize),
                    $"dimension {a}: {sizes[a]} must lie strictly between {standard - stride[a]} and {standard + stride[a]} (the default {standard} ± stride {stride[a]})");
            if (sizes[a] < 1) throw new ParameterException("padding", PoolingWindows.Show(padding), $"leaves no output along spatial dimension {a} ({standard})");
        }
        return sizes;
    }

    /// <summary>The output shape, and per input element the flat output element it writes. Indices checked.</summary>
    private (Shape Output, int[] Target) Plan(NamedTensors inputs)
    {
        var (x, ix) = (inputs["input"], inputs["indices"]);
        var sizes = OutputSizes(x.Shape);
        if (ix.Shape != x.Shape) throw new ParameterException("indices.shape", ix.Shape.ToString(), $"must equal input's shape {x.Shape}");
        var output = Shape.Of([x.Shape[0], x.Shape[1], .. sizes]);
        int inPlane = x.Shape.CountFrom(2), outPlane = output.CountFrom(2);
        var target = new int[x.Count];
        var seen = new HashSet<int>();
        for (int i = 0; i < x.Count; i++)
        {
            double v = ix.At(i);
            if (i % inPlane == 0) seen.Clear();
            string where = $"indices[{string.Join(", ", ix.Shape.Coordinates(i))}]";
            if (v != Math.Floor(v) || v < 0 || v >= outPlane)
                throw new ParameterException(where, Tensor.FormatNumber(v), $"must be a flat position in the output plane, an integer in 0..{outPlane - 1}");
            if (!seen.Add((int)v))
                throw new ParameterException(where, Tensor.FormatNumber(v), "repeats a position of its plane: the output would depend on the order of the writes");
            target[i] = global ? (int)v : i / inPlane * outPlane + (int)v;
        }
        return (output, target);
    }

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs)
    {
        var (output, target) = Plan(inputs);
        var x = inputs["input"];
        var y = new double[output.Count];
        for (int i = 0; i < target.Length; i++) y[target[i]] = x.At(i);
        return Tensor.Wrap(output, y);
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var (output, target) = Plan(inputs);
        Tensor.RequireShape("grad_output", gradOutput, output);
        return NamedTensors.Input(Tensor.Create(inputs["input"].Shape, i => gradOutput.At(target[i])));
    }

    /// <inheritdoc/>
    public bool IsSmooth => true; // a placement: linear

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape)
    {
        var (output, target) = Plan(inputs);
        var writer = Enumerable.Repeat(-1, output.Count).ToArray();
        for (int i = 0; i < target.Length; i++) writer[target[i]] = i;
        return JacobianStructure.Of(1, _ => 0, (o, _) => writer[o]); // each output holds at most one input element
    }
}
