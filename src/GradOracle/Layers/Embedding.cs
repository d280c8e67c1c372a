using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// embedding(input, weight, padding_idx), as torch.nn.functional defines it: input holds row indices (integral float64
/// values in 0..num_embeddings-1) of any shape, the output is weight's rows, input.shape + (embedding_dim,). The backward
/// sums dy into the rows read, a row read k times receiving k rows of dy; the padding_idx row receives none (a negative
/// padding_idx counts from the end). A copy, so its gradient sums exactly what was read.
/// </summary>
public sealed class Embedding(int? paddingIdx = null) : IOp, IHasMagnitudes, IHasJacobianStructure
{
    /// <summary>embedding.</summary>
    public static OpDescriptor<Embedding> Descriptor { get; } = new()
    {
        Name = "embedding",
        Inputs = [new("input", Differentiable: false, Integral: true, Fill: OpInput.IndicesBelow("weight", 0)), new("weight")],
        Attributes = [new("padding_idx", "a row whose gradient stays 0 (negative: from the end); none by default", "None")],
        Build = a => new Embedding(a.OptionalInt("padding_idx")),
        KnownBugs = (e, inputs, dy) =>
        [
            BugHypothesis.InTensor("grads.weight", "embedding backward overwrites a row read more than once instead of summing (the last read's dy kept)",
                () => e.WeightGradient(inputs, dy, overwrite: true, skipPadding: true)),
            BugHypothesis.InTensor("grads.weight", $"the padding_idx row ({e.PaddingIdx}) receives gradient: padding_idx ignored in the backward",
                () => e.PaddingIdx is null ? null : e.WeightGradient(inputs, dy, overwrite: false, skipPadding: false)),
        ],
        Examples = () =>
        [
            new(new Embedding(), Inputs(Tensor.Wrap(Shape.Of(2, 3), [0, 2, 0, 4, 2, 2]), Samples.Distinct(Shape.Of(5, 3), 561)), ["repeated"]),
            new(new Embedding(paddingIdx: 1), Inputs(Tensor.Wrap(Shape.Of(5), [1, 3, 1, 0, 3]), Samples.Distinct(Shape.Of(4, 2), 562)), ["padding-idx", "repeated"]),
            new(new Embedding(paddingIdx: -1), Inputs(Tensor.Wrap(Shape.Of(2, 2, 2), [5, 0, 1, 5, 2, 3, 4, 4]), Samples.Distinct(Shape.Of(6, 3), 563)), ["negative-padding-idx"]),
        ],
        DrawCase = d =>
        {
            int rows = d.Int(2, 8), dim = d.Int(1, 4);
            var shape = Shape.Of(d.Ints(d.Int(1, 3), 1, 4));
            var index = Tensor.Create(shape, _ => d.Rng.Next(rows));
            int? padding = d.OneIn(2) ? d.Int(-rows, rows - 1) : null;
            if (padding is not null) d.Exercises("padding-idx");
            return d.Case(new Embedding(padding), Inputs(index, Samples.Distinct(Shape.Of(rows, dim), d.DataSeed)));
        },
        DrawWeight = 0.25,
    };

    private static NamedTensors Inputs(Tensor index, Tensor weight) => new(("input", index), ("weight", weight));

    /// <summary>The row that receives no gradient, as given (negative counts from the end); null for none.</summary>
    public int? PaddingIdx { get; } = paddingIdx;

    /// <inheritdoc/>
    public string Name => "embedding";

    /// <inheritdoc/>
    public OpAttributes Attributes => PaddingIdx is { } p ? new(("padding_idx", p)) : OpAttributes.None;

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["weight"];

    /// <summary>The row each index reads, and the padding row (-1 for none). Indices and padding_idx checked.</summary>
    private (int[] Rows, int Padding, int Dim) Read(NamedTensors inputs)
    {
        var (index, w) = (inputs["input"], inputs["weight"]);
        if (w.Shape.Rank != 2) throw new ParameterException("weight.shape", w.Shape.ToString(), "must be (num_embeddings, embedding_dim)");
        int n = w.Shape[0];
        int padding = -1;
        if (PaddingIdx is { } p)
        {
            if (p < -n || p >= n) throw new ParameterException("padding_idx", p.ToString(), $"must be a row of weight, in -{n}..{n - 1}");
            padding = p < 0 ? n + p : p;
        }
        var rows = new int[index.Count];
        for (int i = 0; i < rows.Length; i++)
        {
            double v = index.At(i);
            if (v != Math.Floor(v) || v < 0 || v >= n)
                throw new ParameterException($"input[{string.Join(", ", index.Shape.Coordinates(i))}]", Tensor.FormatNumber(v), $"an index must be an integer in 0..{n - 1} (num_embeddings = {n})");
            rows[i] = (int)v;
        }
        return (rows, padding, w.Shape[1]);
    }

    private Shape OutputShape(NamedTensors inputs) => Shape.Of([.. inputs["input"].Shape.Dimensions, inputs["weight"].Shape[1]]);

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs)
    {
        var (rows, _, dim) = Read(inputs);
        var w = inputs["weight"];
        return Tensor.Create(OutputShape(inputs), o => w.At(rows[o / dim] * dim + o % dim));
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        Tensor.RequireShape("grad_output", gradOutput, OutputShape(inputs));
        return new(("weight", WeightGradient(inputs, gradOutput, overwrite: false, skipPadding: true)));
    }

    private Tensor WeightGradient(NamedTensors inputs, Tensor dy, bool overwrite, bool skipPadding)
    {
        var (rows, padding, dim) = Read(inputs);
        var w = inputs["weight"];
        var dw = new double[w.Count];
        for (int i = 0; i < rows.Length; i++)
        {
            if (skipPadding && rows[i] == padding) continue;
            for (int k = 0; k < dim; k++)
                dw[rows[i] * dim + k] = (overwrite ? 0 : dw[rows[i] * dim + k]) + dy.At(i * dim + k);
        }
        return Tensor.Wrap(w.Shape, dw);
    }

    /// <summary>A copy: the output is its own magnitude, and each row's gradient sums |dy| over its reads.</summary>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput) =>
        new(Magnitudes.Abs(Forward(inputs)), new(("weight", WeightGradient(inputs, Magnitudes.Abs(gradOutput), overwrite: false, skipPadding: true))));

    /// <inheritdoc/>
    public bool IsSmooth => true; // linear in the weight

    /// <inheritdoc/>
    public IReadOnlySet<int>? ConstantElements(string input, NamedTensors inputs)
    {
        var (_, padding, dim) = Read(inputs);
        return padding < 0 ? null : Enumerable.Range(padding * dim, dim).ToHashSet();
    }

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape)
    {
        var (rows, _, dim) = Read(inputs);
        return JacobianStructure.Of(1, _ => 0, (o, _) => rows[o / dim] * dim + o % dim); // each output reads one weight element
    }
}
