// GradOracle's side of the benchmark (tools/benchmark.sh): the full element-by-element finite-difference
// check of each layer, timed in-process after a warm-up, median of several runs, at three spatial sizes;
// peak live managed memory of one untimed check. Given gradcheck's JSON lines, prints the combined table.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

int runs = args.Length > 0 ? int.Parse(args[0]) : 5;
string? gradcheckFile = args.Length > 1 ? args[1] : null;
// One layer at 32x32 only (the interleaved rounds against gradcheck's fast_mode in tools/benchmark.sh).
string? only = args.Length > 2 ? args[2] : null;
var layers = only is null ? new[] { "max_pool2d", "avg_pool2d", "conv2d", "batch_norm", "linear" } : [only];
const int N = 2, C = 8;

(IOp Op, NamedTensors Inputs) Make(string layer, int s)
{
    var x = Samples.Distinct(Shape.Of(N, C, s, s), 1);
    return layer switch
    {
        "max_pool2d" => (MaxPool.Create(2, [3], [2], [1]), NamedTensors.Input(x)),
        "avg_pool2d" => (AvgPool.Create(2, [3], [2], [1]), NamedTensors.Input(x)),
        "conv2d" => (Convolution.Create(2, padding: ConvPadding.Of(1)),
            new NamedTensors(("input", x), ("weight", Samples.Scaled(Shape.Of(C, C, 3, 3), 2, 0.3)), ("bias", Samples.Scaled(Shape.Of(C), 3, 0.3)))),
        "batch_norm" => (new BatchNorm(training: true),
            new NamedTensors(("input", x), ("weight", Samples.Positive(Shape.Of(C), 2)), ("bias", Samples.Scaled(Shape.Of(C), 3, 0.3)))),
        _ => (new Linear(), new NamedTensors(("input", Samples.Distinct(Shape.Of(64, 256), 1)), ("weight", Samples.Scaled(Shape.Of(64, 256), 2, 0.1)), ("bias", Samples.Scaled(Shape.Of(64), 3, 0.1)))),
    };
}

static long TensorBytes(IOp op, NamedTensors inputs) => 8L * (inputs.Items.Sum(i => i.Value.Count) + op.Forward(inputs).Count);

(double Seconds, GradCheckResult Result) Time(IOp op, NamedTensors inputs)
{
    var dy = GradientChecker.RandomGradOutput(op.Forward(inputs).Shape, 1);
    GC.Collect();
    GC.WaitForPendingFinalizers();
    var sw = Stopwatch.StartNew();
    var r = GradientChecker.Check(op, inputs, dy);
    sw.Stop();
    if (!r.Passed) throw new InvalidOperationException(r.Describe());
    return (sw.Elapsed.TotalSeconds, r);
}

// The projection screen (fast mode with localisation) on the same configuration.
double TimeScreen(IOp op, NamedTensors inputs)
{
    var dy = GradientChecker.RandomGradOutput(op.Forward(inputs).Shape, 1);
    GC.Collect();
    var sw = Stopwatch.StartNew();
    var r = ProjectionCheck.Screen(op, inputs, dy);
    sw.Stop();
    if (!r.Passed) throw new InvalidOperationException(r.Describe());
    return sw.Elapsed.TotalSeconds;
}

// Peak live memory of one (untimed) check: a sampler forces a full blocking collection every few milliseconds
// and reads the heap size that collection left, so garbage (every forward pass's fresh output) is not
// counted, only what the check holds at that moment.
static long LiveHeap()
{
    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    var info = GC.GetGCMemoryInfo(GCKind.FullBlocking);
    return info.HeapSizeBytes - info.FragmentedBytes;
}

long PeakLiveBytes(IOp op, NamedTensors inputs)
{
    var dy = GradientChecker.RandomGradOutput(op.Forward(inputs).Shape, 1);
    long baseline = LiveHeap(), peak = baseline;
    using var stop = new CancellationTokenSource();
    var sampler = Task.Run(() => { while (!stop.IsCancellationRequested) { peak = Math.Max(peak, LiveHeap()); Thread.Sleep(2); } });
    var r = GradientChecker.Check(op, inputs, dy);
    stop.Cancel();
    sampler.Wait();
    GC.KeepAlive(r);
    return peak - baseline;
}

// Warm-up: every layer once at a small size (JIT, tiered compilation).
foreach (var layer in layers)
{
    var (op, inputs) = Make(layer, 8);
    Time(op, inputs);
    Time(op, inputs);
    TimeScreen(op, inputs);
    TimeScreen(op, inputs);
}

var ours = new List<Dictionary<string, object>>();
foreach (var layer in layers)
    foreach (var s in layer == "linear" ? new[] { 0 } : only is not null ? new[] { 32 } : new[] { 16, 32, 64 })
    {
        var (op, inputs) = Make(layer, s);
        // Warm-up on this very configuration: tiered compilation keeps promoting hot code in the background for a while
        // (on 2 cores it competes with the check's workers), so untimed checks run for up to 2 s (at least one).
        var warm = Stopwatch.StartNew();
        for (int k = 0; k < 10 && (k == 0 || warm.Elapsed.TotalSeconds < 2); k++)
        {
            Time(op, inputs);
            TimeScreen(op, inputs);
        }
        // A row whose single run takes over 30 s is not repeated (batch norm in training at 64x64).
        var samples = new List<(double Seconds, GradCheckResult Result)> { Time(op, inputs) };
        while (samples.Count < runs && samples[0].Seconds < 30) samples.Add(Time(op, inputs));
        var median = samples.Select(x => x.Seconds).Order().ElementAt(samples.Count / 2);
        var screens = Enumerable.Range(0, Math.Max(runs, 5)).Select(_ => TimeScreen(op, inputs)).Order().ToList();
        int elements = inputs.Items.Where(i => op.DifferentiableInputs.Contains(i.Name)).Sum(i => i.Value.Count);
        var row = new Dictionary<string, object>
        {
            ["layer"] = layer, ["size"] = s, ["elements"] = elements, ["seconds"] = median, ["runs"] = samples.Count,
            ["screen_seconds"] = screens[screens.Count / 2],
            ["us_per_element"] = median / elements * 1e6, ["kinks"] = samples[0].Result.Kinks,
            ["peak_mb"] = (s == 64 || layer == "linear" ? PeakLiveBytes(op, inputs) : 0) / 1048576.0, ["tensor_mb"] = TensorBytes(op, inputs) / 1048576.0,
        };
        ours.Add(row);
        Console.WriteLine(JsonSerializer.Serialize(row));
    }

if (gradcheckFile is null || !File.Exists(gradcheckFile)) return 0;
var theirs = File.ReadAllLines(gradcheckFile).Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();
string F(double v, string f) => v.ToString(f, CultureInfo.InvariantCulture);
Console.WriteLine();
Console.WriteLine($"Side by side, one run ({Environment.ProcessorCount} cores; GradOracle median of {runs}, gradcheck median of its runs):");
Console.WriteLine();
Console.WriteLine("| layer (2,8,32,32) | elements | gradcheck slow | gradcheck fast_mode | GradOracle full check | speed-up vs slow | full check vs fast_mode | GradOracle screen | screen vs fast_mode |");
Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
foreach (var t in theirs)
{
    var layer = t.GetProperty("layer").GetString()!;
    var mine = ours.First(o => (string)o["layer"] == layer && ((int)o["size"] == 32 || layer == "linear"));
    double slow = t.GetProperty("slow_s").GetDouble(), me = (double)mine["seconds"];
    string fast = t.TryGetProperty("fast_s", out var f) ? $"{F(f.GetDouble(), "0.000")} s" : "(not run)";
    string vsFast = t.TryGetProperty("fast_s", out var f2) ? $"{F(me / f2.GetDouble(), "0.0")}x its time" : "";
    double screen = (double)mine["screen_seconds"];
    string screenVsFast = t.TryGetProperty("fast_s", out var f3) ? $"{F(screen / f3.GetDouble(), "0.00")}x its time" : "";
    Console.WriteLine($"| {layer} {t.GetProperty("config").GetString()} | {mine["elements"]} | {F(slow, "0.00")} s ({t.GetProperty("slow_runs").GetInt32()} runs{(t.GetProperty("slow_passed").GetBoolean() ? "" : ", gradcheck failed")}) | {fast} | {F(me, "0.000")} s | {F(slow / me, "0")}x | {vsFast} | {F(screen, "0.0000")} s | {screenVsFast} |");
}
Console.WriteLine();
Console.WriteLine("Cost per input element (GradOracle), by spatial size:");
Console.WriteLine();
Console.WriteLine("| layer | 16x16 | 32x32 | 64x64 | peak live memory at 64x64 / tensor bytes |");
Console.WriteLine("|---|---|---|---|---|");
foreach (var g in ours.Where(o => (string)o["layer"] != "linear").GroupBy(o => (string)o["layer"]))
{
    var cells = g.OrderBy(o => (int)o["size"]).Select(o => $"{F((double)o["us_per_element"], "0.0")} us" + ((int)o["runs"] < runs ? $" ({o["runs"]} run)" : "")).ToList();
    var big = g.First(o => (int)o["size"] == 64);
    Console.WriteLine($"| {g.Key} | {string.Join(" | ", cells)} | {F((double)big["peak_mb"], "0.0")} MB / {F((double)big["tensor_mb"], "0.0")} MB = {F((double)big["peak_mb"] / (double)big["tensor_mb"], "0.0")}x |");
}
var lin = ours.First(o => (string)o["layer"] == "linear");
Console.WriteLine($"| linear (64,256)->64 | {F((double)lin["us_per_element"], "0.0")} us (one size) | | | {F((double)lin["peak_mb"], "0.0")} MB / {F((double)lin["tensor_mb"], "0.00")} MB = {F((double)lin["peak_mb"] / (double)lin["tensor_mb"], "0.0")}x |");
return 0;
