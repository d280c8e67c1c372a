// verify's time on one max_pool2d case of 10^6 input elements, its tensors sent as JSON numbers and as
// base64 (tools/benchmark-encoding.sh): against `gradoracle serve` and against a NumPy adapter built on the
// Python helper, each with either encoding, in alternating rounds; the medians and their ratios last.
using System.Diagnostics;
using GradOracle.Cases;
using GradOracle.Layers;
using GradOracle.Tensors;
using GradOracle.Verification;

int rounds = args.Length > 0 ? int.Parse(args[0]) : 3;
string cli = args[1], python = args[2];
var dir = Directory.CreateTempSubdirectory("encoding-benchmark");
try
{
    // (1, 4, 500, 500), 2x2 windows: 10^6 distinct inputs (no ties), 250,000 outputs; the expected values are the
    // oracle's own, so the run measures transfer and judging, not a disagreement.
    var op = MaxPool.Create(2, [2]);
    var inputs = NamedTensors.Input(Samples.Distinct(Shape.Of(1, 4, 500, 500), 1));
    var output = op.Forward(inputs);
    var dy = Samples.Scaled(output.Shape, 2, 1.0);
    var c = new ReferenceCase("max_pool2d/benchmark-1e6", "max_pool2d", "10^6 inputs, for the encoding benchmark", ["benchmark"], "first", "propagate",
        new OpAttributes(op.Attributes.Where(a => a.Key is not ("tie_policy" or "nan_rule")).Select(a => (a.Key, (object?)a.Value)).ToArray()),
        inputs, dy, output, op.Backward(inputs, dy), MaxPool.Descriptor.Indices(op, inputs) is { } ix ? Tensor.FromArray(ix.Shape, ix.Data.Select(v => (double)v).ToArray()) : null,
        [new("output", CaseTolerance.ExactMatch), new("grads.input", CaseTolerance.ExactMatch), new("indices", CaseTolerance.ExactMatch)],
        new CaseProvenance("tools/encoding-benchmark", 0, 0, 0, null, null, "not checked: a benchmark input"));
    Directory.CreateDirectory(Path.Combine(dir.FullName, "max_pool2d"));
    var file = Path.Combine(dir.FullName, "max_pool2d", "benchmark-1e6.json");
    File.WriteAllText(file, CaseFile.Write(c));
    var load = Stopwatch.StartNew();
    CaseStore.Load(file);
    Console.WriteLine($"case file: {new FileInfo(file).Length / 1e6:0.0} MB, read and checked in {load.Elapsed.TotalSeconds:0.00} s (first read, compilation included; every run reads it)");

    var impls = new (string Name, string Command)[]
    {
        ("gradoracle serve, json", $"dotnet {cli} serve --encoding json"),
        ("gradoracle serve, base64", $"dotnet {cli} serve --encoding base64"),
        ("numpy helper, json", $"ENCODING=json {python}"),
        ("numpy helper, base64", $"ENCODING=auto {python}"),
    };
    var times = impls.ToDictionary(i => i.Name, _ => new List<double>());
    for (int r = 0; r < rounds; r++)
        foreach (var (name, command) in impls)
        {
            var sw = Stopwatch.StartNew();
            var report = Verifier.Run(new VerifyOptions
            {
                Command = command, Cases = new CaseStore(dir.FullName), RandomCases = 0, Seed = 1,
                FiniteDifferences = FiniteDifferenceMode.None, Timeout = TimeSpan.FromSeconds(300),
            });
            double s = sw.Elapsed.TotalSeconds;
            if (report.Count(CaseStatus.Pass) != 1) throw new InvalidOperationException($"{name}: {report.Counts}: {string.Join("; ", report.Cases.Select(x => x.Summary))}");
            times[name].Add(s);
            Console.WriteLine($"{{\"round\": {r + 1}, \"impl\": \"{name}\", \"seconds\": {s:0.000}}}");
        }
    double Median(string name) { var t = times[name].Order().ToList(); return t[t.Count / 2]; }
    Console.WriteLine($"\nmax_pool2d (1, 4, 500, 500) 2x2, one case, verify end to end (start, hello, send, answer, judge), median of {rounds} alternating rounds:\n");
    Console.WriteLine("| implementation | JSON numbers | base64 | JSON / base64 |");
    Console.WriteLine("|---|---|---|---|");
    foreach (var who in new[] { "gradoracle serve", "numpy helper" })
    {
        double j = Median($"{who}, json"), b = Median($"{who}, base64");
        Console.WriteLine($"| {who} | {j:0.00} s | {b:0.00} s | {j / b:0.00}x |");
    }
}
finally { dir.Delete(true); }
