using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// pixel_shuffle and pixel_unshuffle (Shi et al. 2016), as torch.nn.functional defines them on (*, C·r², H, W) and
/// (*, C, H·r, W·r): out[…, c, h·r + i, w·r + j] = in[…, c·r² + i·r + j, h, w] and its inverse. A permutation, so the
/// backward routes each gradient element back to its source, exactly. PyTorch's channel order is ONNX's CRD;
/// TensorFlow's depth_to_space uses DCR, in[…, (i·r + j)·C + c, h, w], the typical bug of a port.
/// </summary>
public sealed class PixelShuffle : IOp, IHasJacobianStructure
{
    private PixelShuffle(bool unshuffle, int factor, bool dcr = false)
    {
        Unshuffle = unshuffle;
        Factor = factor >= 1 ? factor
            : throw new ParameterException(unshuffle ? "downscale_factor" : "upscale_factor", factor.ToString(), "must be at least 1");
        Dcr = dcr;
    }

    /// <summary>pixel_shuffle by <paramref name="upscaleFactor"/>.</summary>
    public static PixelShuffle Of(int upscaleFactor) => new(false, upscaleFactor);

    /// <summary>pixel_unshuffle by <paramref name="downscaleFactor"/>.</summary>
    public static PixelShuffle Inverse(int downscaleFactor) => new(true, downscaleFactor);

    /// <summary>pixel_shuffle: channels into space.</summary>
    public static OpDescriptor<PixelShuffle> Descriptor { get; } = new()
    {
        Name = "pixel_shuffle",
        Inputs = [new("input")],
        Attributes = [new("upscale_factor", "an integer ≥ 1 whose square divides the channels")],
        Build = a => Of(a.Int("upscale_factor")),
        Exact = _ => true,
        KnownBugs = (p, inputs, dy) =>
        [
            BugHypothesis.InWholeAnswer("pixel_shuffle with TensorFlow's depth_to_space channel order (DCR: channel (i·r + j)·C + c) instead of PyTorch's CRD",
                () => p.Factor == 1 || p.Channels(inputs["input"].Shape) == 1 ? null : OpResult.Of(new PixelShuffle(false, p.Factor, dcr: true), inputs, dy)),
        ],
        Examples = () =>
        [
            new(Of(2), NamedTensors.Input(Samples.Distinct(Shape.Of(1, 8, 2, 3), 401)), ["basic"]),
            new(Of(3), NamedTensors.Input(Samples.Distinct(Shape.Of(1, 18, 2, 2), 402)), ["factor-3"]),
            new(Of(2), NamedTensors.Input(Samples.Distinct(Shape.Of(2, 2, 8, 2, 1), 403)), ["leading-dims"]),
        ],
        DrawCase = d => Drawn(d, unshuffle: false),
        DrawWeight = 0.25,
    };

    /// <summary>pixel_unshuffle: space into channels.</summary>
    public static OpDescriptor<PixelShuffle> UnshuffleDescriptor { get; } = new()
    {
        Name = "pixel_unshuffle",
        Inputs = [new("input")],
        Attributes = [new("downscale_factor", "an integer ≥ 1 dividing the height and width")],
        Build = a => Inverse(a.Int("downscale_factor")),
        Exact = _ => true,
        KnownBugs = (p, inputs, dy) =>
        [
            BugHypothesis.InWholeAnswer("pixel_unshuffle with TensorFlow's space_to_depth channel order (DCR) instead of PyTorch's CRD",
                () => p.Factor == 1 || p.Channels(inputs["input"].Shape) == 1 ? null : OpResult.Of(new PixelShuffle(true, p.Factor, dcr: true), inputs, dy)),
        ],
        Examples = () =>
        [
            new(Inverse(2), NamedTensors.Input(Samples.Distinct(Shape.Of(1, 2, 4, 6), 411)), ["basic"]),
            new(Inverse(3), NamedTensors.Input(Samples.Distinct(Shape.Of(1, 2, 3, 6), 412)), ["factor-3"]),
            new(Inverse(2), NamedTensors.Input(Samples.Distinct(Shape.Of(2, 1, 2, 2, 4), 413)), ["leading-dims"]),
        ],
        DrawCase = d => Drawn(d, unshuffle: true),
        DrawWeight = 0.25,
    };

    /// <summary>Whether this is pixel_unshuffle.</summary>
    public bool Unshuffle { get; }

    /// <summary>The upscale (or downscale) factor r.</summary>
    public int Factor { get; }

    /// <summary>Whether the channel order is TensorFlow's DCR (only as a bug hypothesis; PyTorch's is CRD).</summary>
    private bool Dcr { get; }

    /// <inheritdoc/>
    public string Name => Unshuffle ? "pixel_unshuffle" : "pixel_shuffle";

    /// <inheritdoc/>
    public OpAttributes Attributes => new((Unshuffle ? "downscale_factor" : "upscale_factor", Factor));

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs)
    {
        var x = inputs["input"];
        var (shape, source) = Routing(x.Shape);
        return Tensor.Create(shape, o => x.At(source(o)));
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var x = inputs["input"];
        var (shape, source) = Routing(x.Shape);
        Tensor.RequireShape("grad_output", gradOutput, shape);
        var dx = new double[x.Count];
        for (int o = 0; o < gradOutput.Count; o++) dx[source(o)] = gradOutput.At(o); // a bijection: each once
        return NamedTensors.Input(Tensor.Wrap(x.Shape, dx));
    }

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape)
    {
        var (_, source) = Routing(inputs["input"].Shape);
        return JacobianStructure.Of(1, _ => 0, (o, _) => source(o)); // every input moves at once: each output sees one
    }

    // The output's shape, and for each output element the input element it copies.
    private (Shape Shape, Func<int, int> Source) Routing(Shape s)
    {
        string key = Unshuffle ? "downscale_factor" : "upscale_factor";
        if (s.Rank < 3) throw new ParameterException("input", $"of shape {s}", $"must have at least 3 dimensions (*, C, H, W) for {Name}");
        int r = Factor, rank = s.Rank, c = s[rank - 3], h = s[rank - 2], w = s[rank - 1];
        if (!Unshuffle && c % (r * r) != 0)
            throw new ParameterException(key, r.ToString(), $"squared ({r * r}) must divide the input's channels, {c}");
        if (Unshuffle && (h % r != 0 || w % r != 0))
            throw new ParameterException(key, r.ToString(), $"must divide the input's height and width, {h} and {w}");
        // Work in the shuffled layout: (lead, C, H·r, W·r) against (lead, C·r², H, W).
        int oc = Unshuffle ? c : c / (r * r), bh = Unshuffle ? h / r : h, bw = Unshuffle ? w / r : w;
        int Deep(int n, int ch, int i, int j, int y, int x) =>
            ((n * oc * r * r + (Dcr ? (i * r + j) * oc + ch : ch * r * r + i * r + j)) * bh + y) * bw + x;
        int Wide(int n, int ch, int i, int j, int y, int x) => ((n * oc + ch) * bh * r + y * r + i) * bw * r + x * r + j;
        var dims = s.Dimensions.ToArray();
        if (Unshuffle) (dims[rank - 3], dims[rank - 2], dims[rank - 1]) = (c * r * r, h / r, w / r);
        else (dims[rank - 3], dims[rank - 2], dims[rank - 1]) = (c / (r * r), h * r, w * r);
        return (Shape.Of(dims), o =>
        {
            if (Unshuffle) // output is deep: decode (n, ch, i, j, y, x) from it, read the wide input
            {
                int x = o % bw, y = o / bw % bh, k = o / (bw * bh) % (oc * r * r), n = o / (bw * bh * oc * r * r);
                var (ch, i, j) = Dcr ? (k % oc, k / oc / r, k / oc % r) : (k / (r * r), k / r % r, k % r);
                return Wide(n, ch, i, j, y, x);
            }
            else
            {
                int xx = o % (bw * r), yy = o / (bw * r) % (bh * r), ch = o / (bw * r * bh * r) % oc, n = o / (bw * r * bh * r * oc);
                return Deep(n, ch, yy % r, xx % r, yy / r, xx / r);
            }
        });
    }

    private int Channels(Shape s) => s.Rank < 3 ? 1 : Unshuffle ? s[s.Rank - 3] : s[s.Rank - 3] / (Factor * Factor);

    private static CheckCase Drawn(CaseDraw d, bool unshuffle)
    {
        int r = d.Int(1, 3), c = d.Int(1, 2), h = d.Int(1, 3), w = d.Int(1, 3);
        var shape = unshuffle ? Shape.Of(d.Batch, c, h * r, w * r) : Shape.Of(d.Batch, c * r * r, h, w);
        return d.Case(unshuffle ? Inverse(r) : Of(r), NamedTensors.Input(Samples.Distinct(shape, d.DataSeed)));
    }
}
