using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>flatten(start_dim=1, end_dim=-1): merges dimensions start..end; backward reshapes the gradient back.</summary>
public sealed class Flatten(int startDim = 1, int endDim = -1) : IOp, IHasJacobianStructure
{
    /// <summary>flatten (torch.flatten).</summary>
    public static OpDescriptor<Flatten> Descriptor { get; } = new()
    {
        Name = "flatten",
        Inputs = [new("input")],
        Attributes = [new("start_dim", "an integer in -rank..rank-1", "1"), new("end_dim", "an integer in -rank..rank-1, not before start_dim", "-1")],
        Build = a => new Flatten(a.Int("start_dim", 1), a.Int("end_dim", -1)),
        Exact = _ => true,
        DrawCase = d =>
        {
            var x = Samples.Distinct(d.ChannelsFirst(d.Batch, d.Channels), d.DataSeed);
            int start = d.Int(0, x.Shape.Rank - 1), end = d.Int(start, x.Shape.Rank - 1);
            return d.Case(new Flatten(start, end - x.Shape.Rank * d.Rng.Next(2)), NamedTensors.Input(x));
        },
    };

    /// <summary>First merged dimension.</summary>
    public int StartDim { get; } = startDim;

    /// <summary>Last merged dimension (negative counts from the end).</summary>
    public int EndDim { get; } = endDim;

    /// <inheritdoc/>
    public string Name => "flatten";

    /// <inheritdoc/>
    public OpAttributes Attributes => new(("start_dim", StartDim), ("end_dim", EndDim));

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    /// <summary>The flattened shape of <paramref name="shape"/>.</summary>
    public Shape OutputShape(Shape shape)
    {
        int r = Math.Max(shape.Rank, 1);
        int s = StartDim < 0 ? StartDim + r : StartDim, e = EndDim < 0 ? EndDim + r : EndDim;
        if (s < 0 || s >= r) throw new ParameterException("start_dim", StartDim.ToString(), $"must lie in {-r}..{r - 1} for input of shape {shape}");
        if (e < 0 || e >= r) throw new ParameterException("end_dim", EndDim.ToString(), $"must lie in {-r}..{r - 1} for input of shape {shape}");
        if (s > e) throw new ParameterException("start_dim", StartDim.ToString(), $"must not come after end_dim ({EndDim})");
        if (shape.Rank == 0) return Shape.Of(1);
        var dims = shape.Dimensions;
        var merged = dims.Skip(s).Take(e - s + 1).Aggregate(1, (x, y) => x * y);
        return Shape.Of(dims.Take(s).Append(merged).Concat(dims.Skip(e + 1)).ToArray());
    }

    /// <inheritdoc/>
    public GradOracle.Layers.JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) => GradOracle.Layers.JacobianStructure.Diagonal;

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs) => inputs["input"].Reshape(OutputShape(inputs["input"].Shape));

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var x = inputs["input"];
        Tensor.RequireShape("grad_output", gradOutput, OutputShape(x.Shape));
        return NamedTensors.Input(gradOutput.Reshape(x.Shape));
    }
}
