// Speed benchmark: the oracle's fast float64 layers against libtorch's, forward + backward (every gradient), in one
// process on the same cores, in alternating rounds. Usage: SpeedBenchmark [rounds, default 7] [row name filter]
using System.Diagnostics;
using System.Runtime.Intrinsics;
using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;
using GradOracle.Torch;
using TorchSharp;
using static TorchSharp.torch.nn.functional;
using TorchTensor = TorchSharp.torch.Tensor;

int rounds = args.Length > 0 ? int.Parse(args[0]) : 7;
string filter = args.Length > 1 ? args[1] : "";

// Production shapes pass the oracle's default per-tensor limit (2^21 elements, for protocol messages).
GradOracle.Limits.Current = new GradOracle.Limits { MaxElements = 1L << 26 };
if (!TorchBridge.Availability.IsAvailable) { Console.Error.WriteLine(TorchBridge.Availability.Message); return 1; }
torch.set_num_threads(Environment.ProcessorCount); // the oracle's Parallel.For uses every core too
Console.WriteLine($"{TorchBridge.Availability.Message}; torch threads {torch.get_num_threads()}, .NET {Environment.Version}, " +
                  $"{Environment.ProcessorCount} cores, Vector512 accelerated: {Vector512.IsHardwareAccelerated}, Vector256: {Vector256.IsHardwareAccelerated}");
Console.WriteLine(Peak.Describe());
Console.WriteLine(LoadAverage());
Console.WriteLine();

var rows = Rows.All().Where(r => r.Name.Contains(filter, StringComparison.OrdinalIgnoreCase)).ToList();
var results = new List<(Row Row, double Oracle, double Torch, double Ratio, double Lo, double Hi)>();
foreach (var row in rows)
{
    var torchInputs = row.Inputs.Items.ToDictionary(i => i.Name, i => ToTorch(i.Value));
    var dy = GradientChecker.RandomGradOutput(row.Op.Forward(row.Inputs).Shape, 7);
    using var dyTorch = ToTorch(dy);
    double OracleOnce()
    {
        var clock = Stopwatch.StartNew();
        _ = row.Op.Forward(row.Inputs);
        _ = row.Op.Backward(row.Inputs, dy);
        return clock.Elapsed.TotalSeconds;
    }
    double TorchOnce()
    {
        using var scope = torch.NewDisposeScope();
        var clock = Stopwatch.StartNew();
        // Fresh leaves over the same storage: no copy, no gradient left from the round before.
        var leaves = torchInputs.ToDictionary(t => t.Key, t => row.Differentiable.Contains(t.Key) ? t.Value.detach().requires_grad_(true) : t.Value.detach());
        var y = row.Torch(leaves);
        y.backward([dyTorch]);
        foreach (var name in row.Differentiable) _ = leaves[name].grad ?? throw new InvalidOperationException($"{row.Name}: no gradient for {name}");
        return clock.Elapsed.TotalSeconds;
    }
    // Warm-up: JIT, plan caches, libtorch's allocator and thread pool.
    OracleOnce(); TorchOnce(); OracleOnce(); TorchOnce();
    var pairs = new List<(double Oracle, double Torch)>();
    for (int r = 0; r < rounds; r++) pairs.Add((OracleOnce(), TorchOnce()));
    var ratios = pairs.Select(p => p.Oracle / p.Torch).Order().ToArray();
    var result = (row, Median(pairs.Select(p => p.Oracle)), Median(pairs.Select(p => p.Torch)), ratios[ratios.Length / 2], ratios[0], ratios[^1]);
    results.Add(result);
    Console.WriteLine($"{row.Name}: oracle {result.Item2 * 1e3:0.0} ms, libtorch {result.Item3 * 1e3:0.0} ms, ratio {result.Item4:0.00}x (range {result.Item5:0.00}-{result.Item6:0.00})");
    foreach (var t in torchInputs.Values) t.Dispose();
}

Console.WriteLine(LoadAverage());
Console.WriteLine();
Console.WriteLine($"float64, forward + backward (every gradient), median of {rounds} alternating rounds; ratio = oracle / libtorch per round, median (range). " +
                  $"GFLOP/s for convolutions: 3 x 2·N·C_out·H_out·W_out·C_in·K (forward, input and weight gradients). Peak for context: {Peak.GFlops:0.0} GFLOP/s.");
Console.WriteLine();
Console.WriteLine("| row | goal | oracle | libtorch | oracle / libtorch | meets goal | oracle GFLOP/s | libtorch GFLOP/s |");
Console.WriteLine("|---|---|---|---|---|---|---|---|");
foreach (var (row, oracle, torchTime, ratio, lo, hi) in results)
{
    string flops(double s) => row.Flops > 0 ? $"{row.Flops / s / 1e9:0.0}" : "-";
    Console.WriteLine($"| {row.Name} | <= {row.Goal:0.0}x | {oracle * 1e3:0.0} ms | {torchTime * 1e3:0.0} ms | {ratio:0.00}x ({lo:0.00}-{hi:0.00}) | {(ratio <= row.Goal ? "yes" : "no")} | {flops(oracle)} | {flops(torchTime)} |");
}
return 0;

// Other processes on these cores slow both sides, libtorch's OpenMP threads more than the .NET pool: say how loaded it was.
static string LoadAverage() => File.Exists("/proc/loadavg") ? $"load average (1, 5, 15 min): {string.Join(", ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3))}" : "";

static double Median(IEnumerable<double> values) { var v = values.Order().ToArray(); return v[v.Length / 2]; }

static TorchTensor ToTorch(Tensor t) => torch.tensor(t.ToArray(), [.. t.Shape.Dimensions.Select(d => (long)d)], torch.float64);

/// <summary>One benchmark row: the oracle's op and inputs, and the same function in libtorch.</summary>
internal sealed record Row(string Name, double Goal, IOp Op, NamedTensors Inputs, string[] Differentiable, Func<Dictionary<string, TorchTensor>, TorchTensor> Torch, double Flops = 0);

internal static class Rows
{
    public static IEnumerable<Row> All()
    {
        yield return Conv("conv2d (8,64,56,56) -> 64, 3x3 p1", 8, 64, 56, 64, 3, 1, 1);
        yield return Conv("conv2d (32,64,28,28) -> 128, 3x3 p1", 32, 64, 28, 128, 3, 1, 1);
        yield return Conv("conv2d (4,3,224,224) -> 64, 7x7 s2 p3", 4, 3, 224, 64, 7, 2, 3);
        var pool = Samples.Distinct(Shape.Of(32, 64, 56, 56), 11);
        yield return new("max_pool2d (32,64,56,56) k3 s2 p1", 1.5, MaxPool.Create(2, [3], [2], [1]), NamedTensors.Input(pool), ["input"],
            t => max_pool2d(t["input"], [3, 3], [2, 2], [1, 1]));
        yield return new("max_pool2d (32,64,56,56) k2 s2", 1.5, MaxPool.Create(2, [2], [2]), NamedTensors.Input(pool), ["input"],
            t => max_pool2d(t["input"], [2, 2], [2, 2]));
        yield return new("avg_pool2d (32,64,56,56) k3 s2 p1", 1.5, AvgPool.Create(2, [3], [2], [1]), NamedTensors.Input(pool), ["input"],
            t => avg_pool2d(t["input"], [3, 3], [2, 2], [1, 1]));
        yield return new("avg_pool2d (32,64,56,56) k2 s2", 1.5, AvgPool.Create(2, [2], [2]), NamedTensors.Input(pool), ["input"],
            t => avg_pool2d(t["input"], [2, 2], [2, 2]));
        yield return new("lp_pool2d p2 (32,64,56,56) k2 s2", 1.5, LpPool.Create(2, 2, [2], [2]), NamedTensors.Input(pool), ["input"],
            t => lp_pool2d(t["input"], 2, [2, 2], [2, 2]));
        var bn = new NamedTensors(("input", pool), ("running_mean", Samples.Scaled(Shape.Of(64), 12, 0.5)), ("running_var", Samples.Positive(Shape.Of(64), 13)),
            ("weight", Samples.Positive(Shape.Of(64), 14)), ("bias", Samples.Scaled(Shape.Of(64), 15, 0.5)));
        yield return new("batch_norm training (32,64,56,56)", 1.5, new BatchNorm(training: true), bn, ["input", "weight", "bias"],
            t => batch_norm(t["input"], t["running_mean"].clone(), t["running_var"].clone(), t["weight"], t["bias"], true, 0.1, 1e-5));
        var lin = new NamedTensors(("input", Samples.Distinct(Shape.Of(256, 4096), 16)), ("weight", Samples.Scaled(Shape.Of(1024, 4096), 17, 0.02)),
            ("bias", Samples.Scaled(Shape.Of(1024), 18, 0.5)));
        yield return new("linear (256,4096) -> 1024", 1.5, new Linear(bias: true), lin, ["input", "weight", "bias"],
            t => linear(t["input"], t["weight"], t["bias"]), Flops: 3 * 2.0 * 256 * 4096 * 1024);
        yield return new("interpolate bilinear x2 (8,64,56,56)", 1.5, new Interpolate("bilinear", scaleFactor: [2], alignCorners: false),
            NamedTensors.Input(Samples.Distinct(Shape.Of(8, 64, 56, 56), 19)), ["input"],
            t => interpolate(t["input"], null, [2, 2], torch.InterpolationMode.Bilinear, false));
    }

    private static Row Conv(string name, int n, int cin, int size, int cout, int k, int stride, int pad)
    {
        var inputs = new NamedTensors(("input", Samples.Distinct(Shape.Of(n, cin, size, size), 1)),
            ("weight", Samples.Scaled(Shape.Of(cout, cin, k, k), 2, 0.5)), ("bias", Samples.Scaled(Shape.Of(cout), 3, 0.5)));
        int outSize = (size + 2 * pad - k) / stride + 1;
        double flops = 3 * 2.0 * n * cout * outSize * outSize * cin * k * k;
        return new(name, 1.2, Convolution.Create(2, [stride], ConvPadding.Of(pad)), inputs, ["input", "weight", "bias"],
            t => conv2d(t["input"], t["weight"], t["bias"], [stride, stride], [pad, pad]), flops);
    }
}

/// <summary>The machine's theoretical float64 peak, from /proc/cpuinfo, with the assumptions said.</summary>
internal static class Peak
{
    private static readonly string[] Info = File.Exists("/proc/cpuinfo") ? File.ReadAllLines("/proc/cpuinfo") : [];
    private static string First(string key) => Info.FirstOrDefault(l => l.StartsWith(key))?.Split(':', 2)[1].Trim() ?? "";
    private static double Ghz => double.TryParse(First("cpu MHz"), System.Globalization.CultureInfo.InvariantCulture, out var mhz) ? mhz / 1000 : 0;
    private static int Lanes => First("flags").Split(' ').Contains("avx512f") ? 8 : First("flags").Split(' ').Contains("avx2") ? 4 : 2;
    private const int FmaUnits = 2;

    public static double GFlops => Environment.ProcessorCount * Ghz * FmaUnits * Lanes * 2;

    public static string Describe() =>
        $"CPU '{First("model name")}', {Environment.ProcessorCount} cores at {Ghz:0.00} GHz (cpu MHz, the clock the hypervisor reports; boost not counted), " +
        $"{Lanes} doubles per vector ({(Lanes == 8 ? "avx512f" : Lanes == 4 ? "avx2, no avx512f" : "SSE2")} in the flags), {FmaUnits} FMA units per core (assumed: " +
        $"AMD Zen and Intel server cores since Haswell have two), 2 flops per FMA: theoretical float64 peak " +
        $"{Environment.ProcessorCount} x {Ghz:0.00} x {FmaUnits} x {Lanes} x 2 = {GFlops:0.0} GFLOP/s";
}
