using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// Fully connected: y = x W^T + b over the last dimension. Input (*, in_features), weight
/// (out_features, in_features), bias (out_features). Backward: dx = dy W, dW = dy^T x and db = Σ dy,
/// both summed over every leading dimension (the batch).
/// </summary>
public sealed class Linear(bool bias = true) : IOp, IForwardInto, IHasInvariants, IHasJacobianStructure, IHasMagnitudes, IExplainsOutputShape
{
    /// <summary>linear: weight (out_features, in_features), as torch.nn.functional.linear.</summary>
    public static OpDescriptor<Linear> Descriptor { get; } = new()
    {
        Name = "linear",
        Inputs = [new("input"), new("weight"), new("bias", Optional: true)],
        Build = a => new Linear(a.Has("bias")),
        Invariants = [WeightIsProduct],
        KnownBugs = (l, inputs, dy) =>
        {
            var x = inputs["input"];
            int rows = x.Count / Math.Max(1, x.Shape[x.Shape.Rank - 1]);
            return [BugHypothesis.InTensor("grads.weight", $"weight gradient divided by the batch size {rows}",
                () => rows > 1 ? l.Backward(inputs, dy)["weight"].Scaled(1.0 / rows) : null)];
        },
        DrawCase = d =>
        {
            int inF = d.ChannelsFixed ? d.Channels : d.Int(1, 6), outF = d.ChannelsFixed ? d.Channels : d.Int(1, 5);
            bool bias = d.Rng.Next(3) > 0;
            var lead = d.Ints(d.Int(1, 2), 1, 3);
            var inputs = new List<(string, Tensor)>
            {
                ("input", Samples.Distinct(Shape.Of([.. lead, inF]), d.DataSeed)),
                ("weight", Samples.Scaled(Shape.Of(outF, inF), d.DataSeed + 1, 1)),
            };
            if (bias) inputs.Add(("bias", Samples.Scaled(Shape.Of(outF), d.DataSeed + 2, 1)));
            return d.Case(new Linear(bias), new NamedTensors([.. inputs]));
        },
    };

    /// <summary>Whether the op takes a bias.</summary>
    public bool HasBias { get; } = bias;

    /// <inheritdoc/>
    public string Name => "linear";

    /// <inheritdoc/>
    public OpAttributes Attributes => OpAttributes.None;

    /// <summary>"bias=None" when the op takes no bias.</summary>
    public string AttributeText => HasBias ? "" : "bias=None";

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = bias ? ["input", "weight", "bias"] : ["input", "weight"];

    private (int Rows, int In, int Out, Shape OutputShape) Prepare(NamedTensors inputs)
    {
        var x = inputs["input"];
        var w = inputs["weight"];
        if (x.Shape.Rank < 1) throw new ParameterException("input.shape", x.Shape.ToString(), "linear needs at least one dimension (in_features)");
        if (w.Shape.Rank != 2) throw new ParameterException("weight.shape", w.Shape.ToString(), "linear takes weight (out_features, in_features)");
        int inF = x.Shape[x.Shape.Rank - 1], outF = w.Shape[0];
        if (w.Shape[1] != inF)
            throw new ParameterException("weight.shape", w.Shape.ToString(), $"dimension 1 must equal in_features = input.shape[-1] = {inF}");
        if (HasBias && inputs["bias"].Shape != Shape.Of(outF))
            throw new ParameterException("bias.shape", inputs["bias"].Shape.ToString(), $"must be (out_features) = ({outF})");
        var dims = x.Shape.Dimensions.ToArray();
        dims[^1] = outF;
        return (x.Count / Math.Max(inF, 1), inF, outF, Shape.Of(dims));
    }

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs) => Forward(inputs, null);

    /// <inheritdoc cref="IForwardInto.Forward"/>
    public Tensor Forward(NamedTensors inputs, double[]? output)
    {
        var (rows, inF, outF, shape) = Prepare(inputs);
        var w = inputs["weight"].Span;
        var y = Tensor.OutputArray(shape, output);
        if (output is not null) Array.Clear(y); // a lent array holds the last pass's values; the sums start from +0
        // y = x·Wᵀ with each dot product added in index order from +0 (OrderedProduct), W transposed so that a row of it
        // holds one input feature's weights for every output; then the bias added to each.
        var wT = new double[w.Length];
        for (int o = 0; o < outF; o++)
            for (int i = 0; i < inF; i++) wT[i * outF + o] = w[o * inF + i];
        OrderedProduct.Add(rows, outF, inF, inputs["input"].Memory, inF, 1, wT, outF, y, outF);
        var bias = HasBias ? inputs["bias"].Span : default;
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outF; o++) y[r * outF + o] = (HasBias ? bias[o] : 0) + y[r * outF + o];
        return Tensor.Wrap(shape, y);
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var (rows, inF, outF, shape) = Prepare(inputs);
        Tensor.RequireShape("grad_output", gradOutput, shape);
        var xT = inputs["input"];
        var wT = inputs["weight"];
        var dy = gradOutput.Span;
        var dx = new double[xT.Count];
        var dw = new double[wT.Count];
        var db = new double[outF];
        // Each element's sum in the order of the serial loop over (row, output): dx[r, :] += g·W[o, :], dW[o, :] += g·x[r, :],
        // db[o] += g; each product rounded, then added.
        OrderedProduct.Add(rows, inF, outF, gradOutput.Memory, outF, 1, wT.Memory, inF, dx, inF);
        OrderedProduct.Add(outF, inF, rows, gradOutput.Memory, 1, outF, xT.Memory, inF, dw, inF);
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(db, dy.Slice(r * outF, outF), db);
        var grads = new List<(string, Tensor)> { ("input", Tensor.Wrap(xT.Shape, dx)), ("weight", Tensor.Wrap(wT.Shape, dw)) };
        if (HasBias) grads.Add(("bias", Tensor.Wrap(Shape.Of(outF), db)));
        return new NamedTensors(grads.ToArray());
    }

    /// <inheritdoc/>
    public bool IsSmooth => true; // no max, no threshold: differentiable at every finite input

    /// <inheritdoc/>
    public string OutputShapeRule(NamedTensors inputs)
    {
        var x = inputs["input"];
        var w = inputs["weight"];
        return $"(*, out_features): the input's leading dimensions ({string.Join(", ", x.Shape.Slice(0).Take(x.Shape.Rank - 1))}) and out_features = weight.shape[0] = {w.Shape[0]} (the weight is (out_features, in_features) = {w.Shape})";
    }

    /// <inheritdoc/>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput) => Magnitudes.Multilinear(this, inputs, gradOutput);

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape)
    {
        var (_, inF, outF, _) = Prepare(inputs);
        return input switch
        {
            "input" => JacobianStructure.ByPlane(inF, e => e % inF, outF, (r, k) => r * inF + k, sameRanks: true), // x[r, i] reaches row r (rank r)
            "weight" => JacobianStructure.Of(inF, e => e % inF, (j, k) => j % outF * inF + k),   // W[o, i] reaches column o
            _ => JacobianStructure.Of(1, _ => 0, (j, _) => j % outF),
        };
    }

    /// <inheritdoc/>
    public InvariantReport CheckInvariants(NamedTensors inputs, Tensor gradOutput, NamedTensors gradients) =>
        InvariantsOf(this, inputs, gradOutput, gradients);

    /// <summary>Name: linear's weight gradient.</summary>
    public const string WeightIsProduct = "grad_weight = dY^T X";

    /// <summary>Linear: grad_weight = dY^T X and grad_bias = Σ dY over the leading dimensions.</summary>
    private static InvariantReport InvariantsOf(Linear op, NamedTensors inputs, Tensor gradOutput, NamedTensors gradients)
    {
        var r = new InvariantReport.Builder();
        var x = inputs["input"];
        var w = inputs["weight"];
        var dw = gradients["weight"];
        if (dw.Shape != w.Shape) { r.Violated(WeightIsProduct, $"grad_weight has shape {dw.Shape}, the weight {w.Shape}"); return r.Build(); }
        int outF = w.Shape[0], inF = w.Shape[1], rows = x.Count / Math.Max(inF, 1);
        string? bad = null;
        for (int o = 0; o < outF && bad is null; o++)
            for (int i = 0; i < inF && bad is null; i++)
            {
                double sum = 0, mag = 0;
                for (int n = 0; n < rows; n++) { double t = gradOutput.At(n * outF + o) * x.At(n * inF + i); sum += t; mag += Math.Abs(t); }
                if (Math.Abs(dw.At(o * inF + i) - sum) > Tolerance.SumRounding(rows, mag))
                    bad = $"grad_weight[{o}, {i}] = {Tensor.FormatNumber(dw.At(o * inF + i))}, (dY^T X)[{o}, {i}] = {Tensor.FormatNumber(sum)}" +
                          (rows > 1 && Math.Abs(dw.At(o * inF + i) * rows - sum) <= Tolerance.SumRounding(rows, mag) * rows ? $": divided by the batch size {rows}" : "");
            }
        if (bad is null) r.Checked(WeightIsProduct); else r.Violated(WeightIsProduct, bad);
        return r.Build();
    }
}
