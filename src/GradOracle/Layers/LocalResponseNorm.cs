using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// local_response_norm(input, size, alpha, beta, k), AlexNet's normalisation as torch.nn.functional computes it on
/// (N, C, *): u_c = k + alpha·(1/size)·Σ x_c'² over the channels c' in [c - size/2, c + (size - 1)/2], the missing ones
/// counting as 0 (an average pool of x² over zero-padded channels, always divided by size), and y_c = x_c·u_c^-beta.
/// dx_j = dy_j·u_j^-beta - (2·alpha·beta/size)·x_j·Σ over the windows c containing j of dy_c·x_c·u_c^(-beta-1).
/// The AlexNet paper writes alpha·Σ without the 1/size: the typical bug of a port.
/// </summary>
public sealed class LocalResponseNorm : IOp, IHasMagnitudes, IHasJacobianStructure
{
    // Bug hypotheses only: the sum not averaged (the paper's alpha·Σ); an even window's extra channel on the other side.
    private readonly bool summed, otherSide;

    private LocalResponseNorm(int size, double alpha, double beta, double k, bool summed = false, bool otherSide = false)
    {
        Size = size >= 1 ? size : throw new ParameterException("size", size.ToString(), "must be at least 1 (channels per window)");
        (Alpha, Beta, K) = (alpha, beta, k);
        (this.summed, this.otherSide) = (summed, otherSide);
    }

    /// <summary>local_response_norm with PyTorch's defaults (alpha 1e-4, beta 0.75, k 1).</summary>
    public static LocalResponseNorm Create(int size, double alpha = 1e-4, double beta = 0.75, double k = 1) => new(size, alpha, beta, k);

    /// <summary>local_response_norm.</summary>
    public static OpDescriptor<LocalResponseNorm> Descriptor { get; } = new()
    {
        Name = "local_response_norm",
        Inputs = [new("input")],
        Attributes =
        [
            new("size", "channels per window, at least 1"),
            new("alpha", "the scale of the window's mean square", "0.0001"),
            new("beta", "the exponent", "0.75"),
            new("k", "the additive constant", "1.0"),
        ],
        Build = a => Create(a.Int("size"), a.Double("alpha", 1e-4), a.Double("beta", 0.75), a.Double("k", 1)),
        KnownBugs = (n, inputs, dy) =>
        [
            BugHypothesis.InWholeAnswer($"output: the window's sum of squares not divided by size {n.Size} (the AlexNet paper's alpha·Σ; PyTorch averages)",
                () => n.Size > 1 ? OpResult.Of(new LocalResponseNorm(n.Size, n.Alpha, n.Beta, n.K, summed: true), inputs, dy) : null),
            BugHypothesis.InWholeAnswer($"output: the even window's extra channel on the other side ({(n.Size - 1) / 2} before, {n.Size / 2} after; PyTorch: {n.Size / 2} before)",
                () => n.Size % 2 == 0 ? OpResult.Of(new LocalResponseNorm(n.Size, n.Alpha, n.Beta, n.K, otherSide: true), inputs, dy) : null),
            BugHypothesis.InTensor("grads.input", "local_response_norm backward treats the denominator as a constant: dx = dy·u^-beta, the cross-channel term missing",
                () => { var (_, u) = n.Read(inputs); return Tensor.Create(dy.Shape, j => dy.At(j) * Math.Pow(u[j], -n.Beta)); }),
        ],
        Examples = () =>
        [
            new(Create(3, alpha: 0.5), NamedTensors.Input(Samples.Distinct(Shape.Of(2, 5, 3), 581)), ["odd-size"]),
            new(Create(2, alpha: 0.3, beta: 0.5, k: 2), NamedTensors.Input(Samples.Distinct(Shape.Of(1, 4, 2, 2), 582)), ["even-size"]),
            new(Create(5), NamedTensors.Input(Samples.Distinct(Shape.Of(1, 3, 2, 2, 2), 583)), ["defaults", "window-wider-than-channels"]),
        ],
        DrawCase = d =>
        {
            var op = Create(d.Int(1, 5), alpha: 0.1 * d.Int(1, 8), beta: 0.25 * d.Int(1, 4), k: d.Int(1, 2));
            return d.Case(op, NamedTensors.Input(Samples.Distinct(d.ChannelsFirst(d.Batch, d.Int(1, 6)), d.DataSeed)));
        },
        DrawWeight = 0.25,
    };

    /// <summary>Channels per window.</summary>
    public int Size { get; }

    /// <summary>The scale of the window's mean square.</summary>
    public double Alpha { get; }

    /// <summary>The exponent.</summary>
    public double Beta { get; }

    /// <summary>The additive constant.</summary>
    public double K { get; }

    /// <inheritdoc/>
    public string Name => "local_response_norm";

    /// <inheritdoc/>
    public OpAttributes Attributes => new(("size", Size), ("alpha", Alpha), ("beta", Beta), ("k", K));

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    private int Before => otherSide ? (Size - 1) / 2 : Size / 2;
    private int After => Size - 1 - Before;

    /// <summary>The channel layout and u for every element. The shape checked.</summary>
    private (AxisLayout Channels, double[] U) Read(NamedTensors inputs)
    {
        var x = inputs["input"];
        if (x.Shape.Rank < 3) throw new ParameterException("input.shape", x.Shape.ToString(), "local_response_norm takes (N, C, *) with at least one spatial dimension");
        var a = AxisLayout.Of(x.Shape, 1);
        var u = new double[x.Count];
        for (int o = 0; o < a.Outer; o++)
            for (int i = 0; i < a.Inner; i++)
                for (int c = 0; c < a.Length; c++)
                {
                    double s = 0;
                    for (int w = Math.Max(0, c - Before); w <= Math.Min(a.Length - 1, c + After); w++) s += x.At(a.At(o, w, i)) * x.At(a.At(o, w, i));
                    u[a.At(o, c, i)] = K + Alpha * (summed ? s : s / Size);
                }
        return (a, u);
    }

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs)
    {
        var x = inputs["input"];
        var (_, u) = Read(inputs);
        return Tensor.Create(x.Shape, j => x.At(j) * Math.Pow(u[j], -Beta));
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var x = inputs["input"];
        Tensor.RequireShape("grad_output", gradOutput, x.Shape);
        var (a, u) = Read(inputs);
        double scale = 2 * Alpha * Beta / (summed ? 1 : Size);
        var cross = Cross(a, u, c => gradOutput.At(c) * x.At(c));
        return NamedTensors.Input(Tensor.Create(x.Shape, j => gradOutput.At(j) * Math.Pow(u[j], -Beta) - scale * x.At(j) * cross[j]));
    }

    /// <summary>Per element j, Σ over the windows c containing j of g(c)·u_c^(-beta-1): j is in c's window when c - before ≤ j ≤ c + after.</summary>
    private double[] Cross(AxisLayout a, double[] u, Func<int, double> g)
    {
        var cross = new double[u.Length];
        for (int o = 0; o < a.Outer; o++)
            for (int i = 0; i < a.Inner; i++)
                for (int j = 0; j < a.Length; j++)
                    for (int c = Math.Max(0, j - After); c <= Math.Min(a.Length - 1, j + Before); c++)
                        cross[a.At(o, j, i)] += g(a.At(o, c, i)) * Math.Pow(u[a.At(o, c, i)], -Beta - 1);
        return cross;
    }

    /// <summary>Each formula's terms in |·|: |y|·(1 + |beta|) for the output (u's rounding raised to beta), dx's two terms apart.</summary>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput)
    {
        var x = inputs["input"];
        var (a, u) = Read(inputs);
        double scale = Math.Abs(2 * Alpha * Beta / (summed ? 1 : Size)), rounding = 1 + Math.Abs(Beta);
        var cross = Cross(a, u, c => Math.Abs(gradOutput.At(c) * x.At(c)));
        var y = Tensor.Create(x.Shape, j => Math.Abs(x.At(j)) * Math.Pow(u[j], -Beta) * rounding);
        var dx = Tensor.Create(x.Shape, j => (Math.Abs(gradOutput.At(j)) * Math.Pow(u[j], -Beta) + scale * Math.Abs(x.At(j)) * cross[j]) * rounding);
        return new OpResult(y, NamedTensors.Input(dx));
    }

    /// <inheritdoc/>
    public bool IsSmooth => K > 0 && Alpha >= 0; // then u > 0: a power of a positive smooth function

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) => null; // a window of channels: moved one element at a time
}
