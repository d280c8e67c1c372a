// The finite-difference self-check of `gradoracle verify` (a float64 implementation's backward against finite
// differences of its own forward) run both ways on the same cases, side by side in one run: one request per
// forward pass (as before batching) and pipelined batches (RunAll). Counts requests and round trips (client calls
// waited on), times each way (the fastest of several alternating runs per case: other load on the machine only
// ever adds), checks that both give bit for bit the same numbers, and prints a table by the case's number of
// differentiable elements.
// Usage: SelfcheckBenchmark "<impl command>" [seed = 3] [random cases = 150] [max elements = 4096] [runs = 3]
using System.Diagnostics;
using System.Globalization;
using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Protocol;
using GradOracle.Tensors;

string command = args[0];
int seed = args.Length > 1 ? int.Parse(args[1]) : 3, count = args.Length > 2 ? int.Parse(args[2]) : 150;
int maxElements = args.Length > 3 ? int.Parse(args[3]) : 4096, runs = args.Length > 4 ? int.Parse(args[4]) : 3;
using var client = new ImplementationClient(command, TimeSpan.FromSeconds(60));
var hello = client.Start();
if (hello.Dtype != "float64") { Console.Error.WriteLine($"{hello.Name} computes in {hello.Dtype}: the self-check runs for float64 only"); return 2; }

// The cases verify would check, with verify's upstream gradients (every case, not only those that match the oracle).
var cases = new List<(CheckCase Case, Tensor Dy, int Elements)>();
int k = 0;
foreach (var c in RandomCases.Generate(seed, count))
{
    var dy = GradientChecker.RandomGradOutput(c.Op.Forward(c.Inputs).Shape, seed * 7919 + k++);
    int elements = c.Op.DifferentiableInputs.Sum(n => c.Inputs[n].Count);
    if (hello.Ops.Contains(c.Op.Name) && c.Op is not StochasticPool && elements <= maxElements) cases.Add((c, dy, elements));
}

(GradCheckResult Result, Counts Counts, double Seconds) Check(ClientOp op, CheckCase c, Tensor dy)
{
    var sw = Stopwatch.StartNew();
    var r = GradientChecker.Check(op, c.Inputs, dy, new GradCheckOptions { Declared = c.Op, Parallel = false });
    return (r, op.Counts, sw.Elapsed.TotalSeconds);
}

foreach (var (c, dy, _) in cases.Take(5)) { Check(new ClientOp(client, c.Op), c, dy); Check(new BatchedClientOp(client, c.Op), c, dy); } // warm-up

var rows = new List<(int Elements, Counts Plain, double PlainS, Counts Piped, double PipedS)>();
int differ = 0;
for (int i = 0; i < cases.Count; i++)
{
    var (c, dy, elements) = cases[i];
    // Alternate which way goes first, so that neither always meets a warm cache.
    (GradCheckResult Result, Counts Counts, double Seconds)? fastestPlain = null, fastestPiped = null;
    for (int run = 0; run < runs; run++)
        foreach (bool batched in (run + i) % 2 == 0 ? new[] { false, true } : [true, false])
        {
            var r = Check(batched ? new BatchedClientOp(client, c.Op) : new ClientOp(client, c.Op), c, dy);
            if (batched) fastestPiped = fastestPiped is { } f && f.Seconds <= r.Seconds ? f : r;
            else fastestPlain = fastestPlain is { } f && f.Seconds <= r.Seconds ? f : r;
        }
    var (plain, piped) = (fastestPlain!.Value, fastestPiped!.Value);
    static string Key(GradCheckResult r) => r.Error + string.Join(";", r.Elements.Select(e => $"{e.Tensor}{e.Index}:{BitConverter.DoubleToInt64Bits(e.Numeric)},{BitConverter.DoubleToInt64Bits(e.ErrorEstimate)},{e.Verdict}"));
    if (Key(plain.Result) != Key(piped.Result)) { differ++; Console.Error.WriteLine($"results differ: {c.Op.Name} {c.Configuration}"); }
    rows.Add((elements, plain.Counts, plain.Seconds, piped.Counts, piped.Seconds));
}

string F(double v, string f) => v.ToString(f, CultureInfo.InvariantCulture);
Console.WriteLine($"`{command}` ({hello.Name}), seed {seed}, {count} random cases: {rows.Count} with at most {maxElements} differentiable elements among its ops; {Environment.ProcessorCount} cores, load average {LoadAverage()}; fastest of {runs} runs per case each way; results {(differ == 0 ? "bit for bit identical both ways" : $"DIFFER in {differ} cases")}.");
Console.WriteLine();
Console.WriteLine("| differentiable elements | cases | requests | round trips: one by one → pipelined | seconds: one by one → pipelined | speed-up | slowest case, pipelined |");
Console.WriteLine("|---|---|---|---|---|---|---|");
int[] bounds = [16, 64, 256, 1024, maxElements];
void Print(string label, IReadOnlyList<(int Elements, Counts Plain, double PlainS, Counts Piped, double PipedS)> g)
{
    if (g.Count == 0) return;
    double a = g.Sum(r => r.PlainS), b = g.Sum(r => r.PipedS);
    Console.WriteLine($"| {label} | {g.Count} | {g.Sum(r => r.Plain.Requests)} | {g.Sum(r => r.Plain.RoundTrips)} → {g.Sum(r => r.Piped.RoundTrips)} | {F(a, "0.00")} → {F(b, "0.00")} | {F(a / b, "0.0")}x | {F(g.Max(r => r.PipedS), "0.000")} s |");
}
for (int i = 0; i < bounds.Length; i++)
    Print($"{(i == 0 ? 1 : bounds[i - 1] + 1)}-{bounds[i]}", rows.Where(r => r.Elements <= bounds[i] && (i == 0 || r.Elements > bounds[i - 1])).ToList());
foreach (var b in bounds.Skip(1)) Print($"**all up to {b}**", rows.Where(r => r.Elements <= b).ToList());
return differ == 0 ? 0 : 1;

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

/// <summary>Requests sent and round trips waited on.</summary>
internal sealed class Counts { public int Requests, RoundTrips; }

/// <summary>The implementation as an op, one request per pass: the self-check as it was before batching.</summary>
internal class ClientOp(ImplementationClient client, IOp oracle) : IOp, IHasJacobianStructure
{
    public Counts Counts { get; } = new();
    protected ImplementationClient Client => client;
    public string Name => oracle.Name;
    public OpAttributes Attrs => oracle.Attrs;
    public IReadOnlyList<string> DifferentiableInputs => oracle.DifferentiableInputs;
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) =>
        (oracle as IHasJacobianStructure)?.StructureOf(input, inputs, outputShape);
    public Tensor Forward(NamedTensors inputs) => Answer(Ask(inputs, null)).Output;
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput) => Answer(Ask(inputs, gradOutput)).Grads ?? new NamedTensors();
    protected RunRequest Request(NamedTensors inputs, Tensor? dy) => new(0, oracle.Name, oracle.Attrs, inputs, dy);
    private Outcome Ask(NamedTensors inputs, Tensor? dy) { Counts.Requests++; Counts.RoundTrips++; return client.Run(Request(inputs, dy)); }
    protected static RunResponse Answer(Outcome o) =>
        o is Outcome.Answered { Response: RunResponse r } ? r : throw new InvalidOperationException($"the implementation did not answer: {o}");
}

/// <summary>The same, with forward passes in pipelined batches: the self-check as verify runs it now.</summary>
internal sealed class BatchedClientOp(ImplementationClient client, IOp oracle) : ClientOp(client, oracle), IBatchedForward
{
    public IReadOnlyList<Tensor> ForwardAll(IReadOnlyList<NamedTensors> inputs)
    {
        Counts.Requests += inputs.Count;
        Counts.RoundTrips++;
        return Client.RunAll([.. inputs.Select(x => Request(x, null))], stopAtFirstFailure: true).Select(o => Answer(o).Output).ToList();
    }
}
