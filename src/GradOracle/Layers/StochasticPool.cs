using System.Collections.Immutable;
using GradOracle.Geometry;
using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// Stochastic pooling (Zeiler and Fergus 2013, Caffe's rule). No padding; windows are clipped to the
/// input. Training: with the caller's uniform u in (0, 1] for each window and S the window's sum, the
/// first position (row-major) whose running sum reaches u*S is selected (S = 0 selects the first); its
/// value is the output and backward routes the window's gradient to it, accumulating across overlapping
/// windows. Evaluation: sum(a^2)/sum(a) (0 when the sum is &lt;= 0), whose derivative is
/// 2a_j/S - sum(a^2)/S^2. Inputs must be non-negative (they normally follow a ReLU).
/// </summary>
public sealed class StochasticPool : IOp, IHasWindows, IHasInvariants, IHasJacobianStructure, IExplainsOutputShape
{
    private StochasticPool(PoolingWindows windows, bool training)
    {
        Windows = windows;
        Training = training;
    }

    /// <summary>stochastic_poolNd: kernel_size, stride (defaults to the kernel), ceil_mode (Caffe's geometry is ceil_mode=True), training.</summary>
    public static StochasticPool Create(int rank, int[] kernelSize, int[]? stride = null, bool ceilMode = false, bool training = true)
        => new(PoolingWindows.StridedUndilated(rank, kernelSize, stride, null, ceilMode), training);

    /// <summary>stochastic_pool{r}d: the oracle's own name (torch.nn.functional has none), the uniforms given as an input.</summary>
    public static OpDescriptor<StochasticPool> Descriptor { get; } = new()
    {
        Name = "stochastic_pool{r}d",
        Inputs = [new("input"), new("uniforms", Optional: true, Differentiable: false)],
        Attributes =
        [
            .. PoolingWindows.StridedAttributes(dilated: false, padded: false),
            new("training", "true (sample with the given uniforms, which are then required) or false (the probability-weighted average)", "True"),
        ],
        Build = a => Create(a.Rank, a.Ints("kernel_size"), a.OptionalInts("stride"), a.Bool("ceil_mode", false), a.Bool("training", true)),
        Exact = s => s.Training,
        Invariants = [OnlyAtSelected, PoolingInvariants.SumPreserved, PoolingInvariants.Euler],
        TorchLacks = _ => "libtorch has no stochastic pooling",
        // The sampled position moves with the input, so differences of the forward cross selection boundaries.
        FiniteDifferencesOfForward = false,
        DrawWeight = 0,
    };

    /// <summary>The window layout.</summary>
    public PoolingWindows Windows { get; }

    /// <inheritdoc/>
    public string OutputShapeRule(NamedTensors inputs) => $"(N, C, *output size), {Windows.SizeRule(inputs["input"].Shape.Slice(2))}";

    /// <summary>Training (sampling) or evaluation (probability-weighted average) forward.</summary>
    public bool Training { get; }

    /// <inheritdoc/>
    public string Name => $"stochastic_pool{Windows.Rank}d";

    /// <inheritdoc/>
    public OpAttributes Attributes => new OpAttributes(
        Windows.Attributes.Where(a => a.Key != "padding").Select(a => (a.Key, (object?)a.Value)).ToArray()).With(("training", Training));

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    /// <summary>Training forward: the sampled values and the selected flat index in each input plane.</summary>
    public MaxPoolResult Sample(Tensor input, Tensor uniforms)
    {
        var (g, planes, outShape) = Begin(input);
        Tensor.RequireShape("uniforms", uniforms, outShape);
        var u = uniforms.Span;
        for (int i = 0; i < u.Length; i++)
            if (!(u[i] > 0 && u[i] <= 1))
                throw new ParameterException($"uniforms[{string.Join(", ", outShape.Coordinates(i))}]", Tensor.FormatNumber(u[i]), "must lie in (0, 1]");
        var y = new double[outShape.Count];
        var idx = new long[outShape.Count];
        var x = input.Span;
        Span<int> taps = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]), kernelTaps = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]);
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Slice(p * g.InputPlaneSize, g.InputPlaneSize);
            for (int o = 0; o < g.OutputPlaneSize; o++)
            {
                int n = g.Gather(o, taps, kernelTaps);
                int at = p * g.OutputPlaneSize + o;
                int sel = Selected(plane, taps[..n], u[at]);
                y[at] = plane[sel];
                idx[at] = sel;
            }
        }
        return new MaxPoolResult(Tensor.Wrap(outShape, y), new IndexTensor(outShape, ImmutableArray.Create(idx)));
    }

    /// <summary>Caffe's selection: the first tap whose running sum reaches u*S.</summary>
    internal static int Selected(ReadOnlySpan<double> plane, ReadOnlySpan<int> taps, double u)
    {
        double sum = 0;
        foreach (int t in taps) sum += plane[t];
        double threshold = u * sum, running = 0;
        foreach (int t in taps)
        {
            running += plane[t];
            if (running >= threshold) return t;
        }
        return taps[^1]; // unreachable for u <= 1: the running sum ends at S exactly
    }

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs) =>
        Training ? Sample(inputs["input"], inputs["uniforms"]).Output : EvaluationMode(inputs["input"], null);

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var input = inputs["input"];
        if (!Training) return NamedTensors.Input(EvaluationMode(input, gradOutput));
        var selected = Sample(input, inputs["uniforms"]).Indices;
        Tensor.RequireShape("grad_output", gradOutput, selected.Shape);
        int inPlane = input.Count / Math.Max(1, input.Shape[0] * input.Shape[1]);
        int outPlane = selected.Shape.CountFrom(2);
        var dx = new double[input.Count];
        var dy = gradOutput.Span;
        for (int i = 0; i < dy.Length; i++)
            dx[i / outPlane * inPlane + (int)selected.Data[i]] += dy[i];
        return NamedTensors.Input(Tensor.Wrap(input.Shape, dx));
    }

    /// <summary>Evaluation forward (<paramref name="gradOutput"/> null) or its input gradient.</summary>
    private Tensor EvaluationMode(Tensor input, Tensor? gradOutput)
    {
        var (g, planes, outShape) = Begin(input, gradOutput);
        var result = new double[gradOutput is null ? outShape.Count : input.Count];
        var x = input.Span;
        Span<int> taps = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]), kernelTaps = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]);
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Slice(p * g.InputPlaneSize, g.InputPlaneSize);
            for (int o = 0; o < g.OutputPlaneSize; o++)
            {
                int n = g.Gather(o, taps, kernelTaps);
                double s = 0, s2 = 0;
                for (int i = 0; i < n; i++) { double a = plane[taps[i]]; s += a; s2 += a * a; }
                int at = p * g.OutputPlaneSize + o;
                if (gradOutput is null) { result[at] = s > 0 ? s2 / s : 0; continue; }
                if (!(s > 0)) continue;
                double dy = gradOutput.At(at), q = s2 / (s * s);
                var dplane = result.AsSpan(p * g.InputPlaneSize, g.InputPlaneSize);
                for (int i = 0; i < n; i++) dplane[taps[i]] += dy * (2 * plane[taps[i]] / s - q);
            }
        }
        return Tensor.Wrap(gradOutput is null ? outShape : input.Shape, result);
    }

    /// <summary>Refuses inputs outside the layer's domain, then begins the pass.</summary>
    private PoolingPass Begin(Tensor input, Tensor? gradOutput = null)
    {
        Windows.Planes(input.Shape);
        var x = input.Span;
        for (int i = 0; i < x.Length; i++)
            if (!(x[i] >= 0) || double.IsInfinity(x[i]))
                throw new ParameterException($"input[{string.Join(", ", input.Shape.Coordinates(i))}]", Tensor.FormatNumber(x[i]),
                    "stochastic pooling needs finite, non-negative inputs (its probabilities are a / sum(a))");
        return Windows.Begin(input, gradOutput);
    }

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) => Windows.Structure(inputs["input"].Shape);

    /// <inheritdoc/>
    public InvariantReport CheckInvariants(NamedTensors inputs, Tensor gradOutput, NamedTensors gradients)
        => InvariantsOf(this, inputs, gradOutput, gradients["input"]);

    /// <summary>Name: stochastic pooling routes only to sampled positions.</summary>
    public const string OnlyAtSelected = "gradient only at selected positions";

    /// <summary>Stochastic pooling: in training, gradient only at the sampled positions and sum(dx) = sum(dy); always PoolingInvariants.Euler's identity.</summary>
    private static InvariantReport InvariantsOf(StochasticPool op, NamedTensors inputs, Tensor gradOutput, Tensor gradInput)
    {
        var r = new InvariantReport.Builder();
        var input = inputs["input"];
        var g = op.Windows.For(input.Shape);
        if (!PoolingInvariants.ShapesFit(r, input, gradInput, gradOutput, PoolingWindows.OutputShape(input.Shape, g))) return r.Build();
        var dx = gradInput.ToArray(); var dy = gradOutput.ToArray();
        if (op.Training)
        {
            var sel = op.Sample(input, inputs["uniforms"]).Indices;
            var selected = new bool[input.Count];
            for (int i = 0; i < sel.Data.Length; i++) selected[i / g.OutputPlaneSize * g.InputPlaneSize + (int)sel.Data[i]] = true;
            int stray = Enumerable.Range(0, dx.Length).FirstOrDefault(i => dx[i] != 0 && !selected[i], -1);
            if (stray < 0) r.Checked(OnlyAtSelected);
            else r.Violated(OnlyAtSelected, $"input{PoolingInvariants.Coords(input.Shape, stray)} gets {Tensor.FormatNumber(dx[stray])} but no window selected it");
            r.SumsAgree(PoolingInvariants.SumPreserved, PoolingInvariants.Sum(dx), PoolingInvariants.Sum(dy), PoolingInvariants.SumAbs(dy), dx.Length + dy.Length);
        }
        PoolingInvariants.EulerIdentity(r, input, gradInput, gradOutput, op.Forward(inputs));
        return r.Build();
    }
}
