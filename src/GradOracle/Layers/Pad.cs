using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// pad(input, pad, mode, value), as torch.nn.functional defines it: pad lists (before, after) per dimension from the last
/// dimension backwards. constant fills with value (a negative pad crops); reflect mirrors about the edge element, which is
/// not repeated (x[1], x[0], x[1], ...); replicate repeats the edge; circular wraps around. Every output element reads one
/// input element (or the constant), so the backward sends each dy to its source, summed where several outputs read one
/// input (the reflected, replicated and wrapped borders).
/// </summary>
public sealed class Pad : IOp, IHasMagnitudes, IHasJacobianStructure
{
    private static readonly string[] Modes = ["constant", "reflect", "replicate", "circular"];
    private readonly int[] pad;
    // Bug hypotheses only: numpy's 'symmetric' for reflect (the edge repeated); the pad list read first dimension first.
    private readonly bool symmetric, firstDimensionFirst;

    private Pad(int[] pad, string mode, double value, bool symmetric = false, bool firstDimensionFirst = false)
    {
        (this.pad, Mode, Value, this.symmetric, this.firstDimensionFirst) = (pad, mode, value, symmetric, firstDimensionFirst);
    }

    /// <summary>pad with PyTorch's rules for <paramref name="mode"/>, checked here and, against the input, in each pass.</summary>
    public static Pad Create(int[] pad, string mode = "constant", double value = 0)
    {
        if (pad.Length == 0 || pad.Length % 2 != 0)
            throw new ParameterException("pad", PoolingWindows.Show(pad), "must list (before, after) pairs, from the last dimension backwards: an even, non-zero count");
        if (!Modes.Contains(mode)) throw new ParameterException("mode", $"'{mode}'", $"must be one of {string.Join(", ", Modes)}");
        if (mode != "constant")
        {
            if (value != 0) throw new ParameterException("value", Tensor.FormatNumber(value), $"is constant mode's fill: mode '{mode}' takes none");
            if (pad.Length > 6) throw new ParameterException("pad", PoolingWindows.Show(pad), $"mode '{mode}' pads at most the last 3 dimensions (6 values)");
            if (pad.Any(p => p < 0)) throw new ParameterException("pad", PoolingWindows.Show(pad), $"must be non-negative for mode '{mode}' (only constant padding crops)");
        }
        return new Pad(pad, mode, value);
    }

    /// <summary>pad.</summary>
    public static OpDescriptor<Pad> Descriptor { get; } = new()
    {
        Name = "pad",
        Inputs = [new("input")],
        Attributes =
        [
            new("pad", "(before, after) per dimension, from the last dimension backwards"),
            new("mode", "one of constant, reflect, replicate, circular", "'constant'"),
            new("value", "constant mode's fill", "0"),
        ],
        Build = a => Create(a.Ints("pad"), a.Choice("mode", "constant", Modes, s => s), a.Double("value", 0)),
        KnownBugs = (p, inputs, dy) =>
        [
            BugHypothesis.InWholeAnswer("output: reflect padding repeats the edge element (numpy's 'symmetric'); PyTorch's reflect mirrors about it (numpy's 'reflect')",
                () => p.Mode == "reflect" ? OpResult.Of(new Pad(p.pad, p.Mode, p.Value, symmetric: true), inputs, dy) : null),
            BugHypothesis.InWholeAnswer("output: the pad list read first dimension first; PyTorch's starts from the last dimension",
                () => p.pad.Length > 2 ? OpResult.Of(new Pad(p.pad, p.Mode, p.Value, firstDimensionFirst: true), inputs, dy) : null),
            BugHypothesis.InTensor("grads.input", "pad backward overwrites instead of summing where several outputs read one input (the last one's dy kept)",
                () => p.Mode == "constant" ? null : p.Overwritten(inputs, dy)),
        ],
        Examples = () =>
        [
            new(Create([1, 2, -1, 1], "constant", 1.5), NamedTensors.Input(Samples.Distinct(Shape.Of(1, 2, 3, 3), 541)), ["constant", "crop"]),
            new(Create([2, 1, 1, 2], "reflect"), NamedTensors.Input(Samples.Distinct(Shape.Of(2, 1, 3, 4), 542)), ["reflect"]),
            new(Create([3, 1], "replicate"), NamedTensors.Input(Samples.Distinct(Shape.Of(2, 3, 4), 543)), ["replicate"]),
            new(Create([1, 2, 2, 0, 1, 1], "circular"), NamedTensors.Input(Samples.Distinct(Shape.Of(1, 1, 2, 3, 3), 544)), ["circular", "three-dimensions"]),
            new(Create([2, 2], "reflect"), NamedTensors.Input(Samples.Distinct(Shape.Of(3, 3), 545)), ["reflect", "unbatched"]),
        ],
        DrawCase = d =>
        {
            var shape = d.ChannelsFirst(d.Batch, d.Channels);
            string mode = Modes[d.Rng.Next(4)];
            var pads = new int[2 * d.Rank];
            for (int k = 0; k < d.Rank; k++)
            {
                int n = d.Spatial[d.Rank - 1 - k], most = mode == "reflect" ? n - 1 : mode == "circular" ? n : 3;
                pads[2 * k] = d.Int(mode == "constant" ? -1 : 0, most);
                pads[2 * k + 1] = d.Int(0, most);
            }
            return d.Case(Create(pads, mode, mode == "constant" && d.OneIn(2) ? 0.5 : 0), NamedTensors.Input(Samples.Distinct(shape, d.DataSeed)), mode);
        },
        DrawWeight = 0.25,
    };

    /// <summary>constant, reflect, replicate or circular.</summary>
    public string Mode { get; }

    /// <summary>constant mode's fill.</summary>
    public double Value { get; }

    /// <inheritdoc/>
    public string Name => "pad";

    /// <inheritdoc/>
    public OpAttributes Attributes => new(("pad", pad), ("mode", Mode), ("value", Value));

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    /// <summary>The output's shape and, per output element, the input element it reads (-1: the constant). Shapes checked.</summary>
    private (Shape Output, int[] Source) Plan(Shape x)
    {
        int k = pad.Length / 2;
        if (k > x.Rank) throw new ParameterException("pad", PoolingWindows.Show(pad), $"pads {k} dimensions, more than the input's {x.Rank}");
        if (Mode != "constant" && x.Rank != k + 1 && x.Rank != k + 2)
            throw new ParameterException("input.shape", x.ToString(), $"mode '{Mode}' padding {k} dimension(s) takes an input of rank {k + 1} or {k + 2} ((C, *) or (N, C, *))");
        var (before, after) = (new int[x.Rank], new int[x.Rank]);
        for (int j = 0; j < k; j++)
        {
            int axis = firstDimensionFirst ? x.Rank - k + j : x.Rank - 1 - j;
            (before[axis], after[axis]) = (pad[2 * j], pad[2 * j + 1]);
        }
        var dims = new int[x.Rank];
        for (int a = 0; a < x.Rank; a++)
        {
            int n = x[a];
            dims[a] = n + before[a] + after[a];
            string? broken = Mode switch
            {
                "reflect" when before[a] >= n || after[a] >= n => $"reflect padding must be smaller than the dimension it pads ({n}: each side at most {n - 1})",
                "circular" when before[a] > n || after[a] > n => $"circular padding must be at most the dimension it pads ({n})",
                _ when dims[a] < 1 => $"leaves dimension {a} of size {n} with {dims[a]} elements",
                _ => null,
            };
            if (broken is not null) throw new ParameterException("pad", PoolingWindows.Show(pad), broken);
        }
        var output = Shape.Of(dims);
        var source = new int[output.Count];
        var c = new int[x.Rank];
        for (int o = 0; o < source.Length; o++)
        {
            int rest = o, at = 0;
            for (int a = x.Rank - 1; a >= 0; a--) { c[a] = rest % dims[a]; rest /= dims[a]; }
            for (int a = 0; a < x.Rank && at >= 0; a++)
            {
                int i = Read(c[a] - before[a], x[a]);
                at = i < 0 ? -1 : at * x[a] + i;
            }
            source[o] = at;
        }
        return (output, source);
    }

    /// <summary>The input position an output position i (counted from the input's start) reads along a dimension of n, or -1.</summary>
    private int Read(int i, int n)
    {
        if (i >= 0 && i < n) return i;
        return Mode switch
        {
            "reflect" when symmetric => i < 0 ? -i - 1 : 2 * n - 1 - i,
            "reflect" => i < 0 ? -i : 2 * (n - 1) - i,
            "replicate" => Math.Clamp(i, 0, n - 1),
            "circular" => (i % n + n) % n,
            _ => -1,
        };
    }

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs)
    {
        var x = inputs["input"];
        var (output, source) = Plan(x.Shape);
        return Tensor.Create(output, o => source[o] < 0 ? Value : x.At(source[o]));
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var x = inputs["input"];
        var (output, source) = Plan(x.Shape);
        Tensor.RequireShape("grad_output", gradOutput, output);
        var dx = new double[x.Count];
        for (int o = 0; o < source.Length; o++)
            if (source[o] >= 0) dx[source[o]] += gradOutput.At(o);
        return NamedTensors.Input(Tensor.Wrap(x.Shape, dx));
    }

    private Tensor Overwritten(NamedTensors inputs, Tensor dy)
    {
        var x = inputs["input"];
        var (_, source) = Plan(x.Shape);
        var dx = new double[x.Count];
        for (int o = 0; o < source.Length; o++)
            if (source[o] >= 0) dx[source[o]] = dy.At(o);
        return Tensor.Wrap(x.Shape, dx);
    }

    /// <summary>The output is a copy (its magnitude itself); dx sums |dy| over the outputs reading each input.</summary>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput) =>
        new(Magnitudes.Abs(Forward(inputs)), NamedTensors.Input(Backward(inputs, Magnitudes.Abs(gradOutput))["input"]));

    /// <inheritdoc/>
    public bool IsSmooth => true; // linear: a copy

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape)
    {
        var (_, source) = Plan(inputs["input"].Shape);
        return JacobianStructure.Of(1, _ => 0, (o, _) => source[o]); // each output reads one input: one colour moves them all
    }
}
