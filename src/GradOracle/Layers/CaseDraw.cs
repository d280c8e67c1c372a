using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// One random draw in progress, handed to an op's descriptor to draw its case from: the seeded generator, the common
/// dimensions drawn before it (rank, batch, channels, spatial sizes) and what the case exercises so far.
/// </summary>
public sealed class CaseDraw
{
    private readonly List<string> exercises = [];

    internal CaseDraw(Random rng, int dataSeed)
    {
        Rng = rng;
        DataSeed = dataSeed;
        Rank = Int(1, 3);
        Batch = Int(1, 2);
        Channels = Int(1, 3);
        Spatial = Ints(Rank, 2, Rank == 3 ? 5 : 7);
    }

    /// <summary>
    /// A draw at a given rank with some dimensions fixed (an edge sweep's sizes); the rest drawn as usual. Ops that draw
    /// their own channel counts use <see cref="Channels"/> when <see cref="ChannelsFixed"/>.
    /// </summary>
    internal CaseDraw(Random rng, int dataSeed, int rank, int? batch, int? channels, int[]? spatial) : this(rng, dataSeed)
    {
        Rank = rank;
        Batch = batch ?? Batch;
        Channels = channels ?? Channels;
        ChannelsFixed = channels is not null;
        Spatial = spatial ?? Ints(Rank, 2, Rank == 3 ? 5 : 7);
    }

    /// <summary>Whether <see cref="Channels"/> was fixed by an edge sweep rather than drawn (1-3).</summary>
    public bool ChannelsFixed { get; }

    /// <summary>The seeded generator (draws are reproducible from the run's seed).</summary>
    public Random Rng { get; }

    /// <summary>The seed for the case's sample tensors.</summary>
    public int DataSeed { get; }

    /// <summary>The spatial rank, 1-3.</summary>
    public int Rank { get; }

    /// <summary>A batch size, 1-2.</summary>
    public int Batch { get; }

    /// <summary>A channel count, 1-3.</summary>
    public int Channels { get; }

    /// <summary>Spatial sizes, <see cref="Rank"/> of them, 2-7 (2-5 in rank 3).</summary>
    public int[] Spatial { get; }

    /// <summary>An integer in [lo, hi].</summary>
    public int Int(int lo, int hi) => Rng.Next(lo, hi + 1);

    /// <summary><paramref name="n"/> integers in [lo, hi].</summary>
    public int[] Ints(int n, int lo, int hi) => Enumerable.Range(0, n).Select(_ => Int(lo, hi)).ToArray();

    /// <summary>True with probability 1/<paramref name="n"/>.</summary>
    public bool OneIn(int n) => Rng.Next(n) == 0;

    /// <summary>(n, c, *spatial).</summary>
    public Shape ChannelsFirst(int n, int c) => Shape.Of([n, c, .. Spatial]);

    /// <summary>Records what the case exercises (ties, padding, ...), for the coverage of a run.</summary>
    public void Exercises(params string[] what) => exercises.AddRange(what);

    /// <summary><paramref name="x"/>, and one time in two with a few elements set exactly to the activation's kinks.</summary>
    public Tensor AtKinks(Tensor x, params double[] kinks)
    {
        if (!OneIn(2)) return x;
        var d = x.ToArray();
        foreach (var k in kinks) d[Rng.Next(d.Length)] = k;
        Exercises("kink");
        return Tensor.Wrap(x.Shape, d);
    }

    /// <summary>A pooling input (batch, channels, *spatial): sometimes full of ties, NaN (when allowed) or signed zeros.</summary>
    public Tensor PoolInput(bool allowNan)
    {
        var shape = ChannelsFirst(Batch, Channels);
        int flavour = Rng.Next(10);
        if (flavour < 3) { Exercises("ties"); return Samples.Ties(shape, DataSeed); }
        var x = Samples.Distinct(shape, DataSeed);
        if (flavour == 3 && allowNan) { Exercises("nan"); return Samples.With(x, double.NaN, Rng.Next(x.Count), Rng.Next(x.Count)); }
        if (flavour == 4) { Exercises("negative-zero"); return Samples.With(Samples.With(x, -0.0, Rng.Next(x.Count)), 0.0, Rng.Next(x.Count)); }
        return x;
    }

    /// <summary>A pooling window over the spatial sizes: kernel up to <paramref name="maxKernel"/>, stride 1-3, padding within kernel_size/2, ceil mode or not.</summary>
    public (int[] Kernel, int[] Stride, int[] Padding, bool CeilMode) Window(int maxKernel)
    {
        var k = Spatial.Select(n => Int(1, Math.Min(maxKernel, n))).ToArray();
        var s = k.Select(_ => Int(1, 3)).ToArray();
        var p = k.Select(kk => Int(0, kk / 2)).ToArray();
        bool ceil = Rng.Next(2) == 0;
        if (ceil) Exercises("ceil-mode");
        if (p.Any(v => v > 0)) Exercises("padding");
        return (k, s, p, ceil);
    }

    /// <summary>A dilation per spatial dimension: 2 one time in four, else 1.</summary>
    public int[] Dilation()
    {
        var d = Spatial.Select(_ => Rng.Next(4) == 0 ? 2 : 1).ToArray();
        if (d.Any(v => v > 1)) Exercises("dilation");
        return d;
    }

    /// <summary>The case drawn, with what it exercises.</summary>
    public CheckCase Case(IOp op, NamedTensors inputs, params string[] more) => new(op, inputs, exercises.Concat(more).Distinct().ToArray());
}
