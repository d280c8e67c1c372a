using System.Text.Json;
using GradOracle.Layers;
using GradOracle.Protocol;
using GradOracle.Tests.Verification;
using GradOracle.Torch;
using GradOracle.Verification;

namespace GradOracle.Tests.Torch;

public class TorchEngineTests
{
    private static string Arg(string s) => "\"" + s.Replace("\"", "\\\"") + "\"";

    private static string Serve => $"{Tools.Serve} --engine libtorch";

    private static TorchEngine Engine()
    {
        TorchRequirement.Ensure();
        return TorchEngine.IfAvailable(out var why) ?? throw new AssertionException(why!);
    }

    [Test]
    public void The_hello_names_libtorch_and_declares_pytorchs_own_choices()
    {
        var reply = Server.Answer("""{"id": 1, "type": "hello", "protocol": 1}""", Engine());
        using var doc = JsonDocument.Parse(reply);
        Assert.That(doc.RootElement.GetProperty("name").GetString(), Is.EqualTo("libtorch 2.10.0"));
        var ops = doc.RootElement.GetProperty("ops").EnumerateArray().Select(o => o.GetString()).ToList();
        Assert.That(ops, Does.Contain("global_max_pool3d").And.Contain("conv3d").And.Not.Contain("stochastic_pool2d"));
        var conventions = doc.RootElement.GetProperty("conventions");
        Assert.That(conventions.GetProperty("tie_policy").GetString(), Is.EqualTo("first"));
        Assert.That(conventions.GetProperty("nan_rule").GetString(), Is.EqualTo("propagate"));
    }

    [Test]
    public void Answers_are_libtorchs_own_values_with_its_refusals_and_what_it_lacks()
    {
        var engine = Engine();
        // Tied maxima 2, 2 route to the first, as PyTorch's kernel does (worked by hand).
        var run = Server.Answer("""{"id": 2, "type": "run", "op": "max_pool2d", "attrs": {"kernel_size": [2, 2]}, "inputs": {"input": {"shape": [1, 1, 2, 2], "data": [1, 1, 2, 2]}}, "grad_output": {"shape": [1, 1, 1, 1], "data": [3]}}""", engine);
        Assert.That(run, Does.Contain("\"grads\": {\"input\": {\"shape\": [1, 1, 2, 2], \"data\": [0, 0, 3, 0]}}"));
        Assert.That(run, Does.EndWith(", \"indices\": {\"shape\": [1, 1, 1, 1], \"data\": [2]}}"), "libtorch's own argmax, the first of the tied 2s");
        var refused = Server.Answer("""{"id": 3, "type": "run", "op": "conv2d", "attrs": {}, "inputs": {"input": {"shape": [1, 3, 1, 1], "data": [0, 0, 0]}, "weight": {"shape": [1, 2, 1, 1], "data": [1, 1]}}}""", engine);
        Assert.That(refused, Does.Contain("\"error\"").And.Contain("expected input[1, 3, 1, 1] to have 2 channels"));
        var split = Server.Answer("""{"id": 4, "type": "run", "op": "max_pool1d", "attrs": {"kernel_size": [2], "tie_policy": "split"}, "inputs": {"input": {"shape": [1, 1, 2], "data": [1, 1]}}}""", engine);
        Assert.That(split, Is.EqualTo("{\"id\": 4, \"unsupported\": true, \"reason\": \"libtorch follows tie_policy=first and nan_rule=propagate only\"}"));
        var unknown = Server.Answer("""{"id": 5, "type": "run", "op": "relu", "attrs": {"inplace": true}, "inputs": {"input": {"shape": [1], "data": [1]}}}""", engine);
        Assert.That(unknown, Does.Contain("\"error\"").And.Contain("inplace"), "the oracle's attribute rules hold for libtorch's engine too");
    }

    [Test]
    public void Verify_against_libtorch_over_the_reference_cases_and_1000_random_cases_finds_no_failure_but_its_hardsigmoid()
    {
        Engine();
        // libtorch's one known error: its float64 hardsigmoid backward multiplies by 1/6 rounded to float32, 2.98e-8 off.
        var config = Path.Combine(Path.GetTempPath(), $"gradoracle-torch-{Environment.ProcessId}.json");
        File.WriteAllText(config, $$"""
            {"impl": {{JsonSerializer.Serialize(Serve)}}, "seed": 15, "random": 1000,
             "known_failures": [{"case": "hardsigmoid/*", "reason": "float32 1/6"}]}
            """);
        int exit = Tools.Run("dotnet", $"\"{Tools.CliDll}\" verify --config \"{config}\" --json", out var output, timeoutMs: 600_000);
        File.Delete(config);
        using var doc = JsonDocument.Parse(output[output.IndexOf('{')..(output.LastIndexOf('}') + 1)]);
        var cases = doc.RootElement.GetProperty("cases").EnumerateArray().ToList();
        var byStatus = cases.GroupBy(c => c.GetProperty("status").GetString()!).ToDictionary(g => g.Key, g => g.ToList());
        string Show(string status) => string.Join("\n", byStatus.GetValueOrDefault(status, []).Take(5).Select(c => $"{c.GetProperty("id")}: {c.GetProperty("summary")}"));
        Assert.That(byStatus.Keys, Is.SubsetOf(new[] { "pass", "skipped", "known_failure", "fail" }), Show("error"));
        Assert.That(byStatus["pass"], Has.Count.GreaterThanOrEqualTo(1100));
        // The reference cases' hardsigmoid ids are listed as known; random ones carry no op in their id, so they fail, and nothing else does.
        var known = byStatus["known_failure"];
        Assert.That(known.Select(c => c.GetProperty("id").GetString()), Has.All.StartsWith("hardsigmoid/"));
        Assert.That(known, Has.Count.EqualTo(Directory.GetFiles(Path.Combine(Tools.Root, "reference-cases", "hardsigmoid"), "*.json").Length));
        var failed = byStatus.GetValueOrDefault("fail", []);
        Assert.That(failed.Select(c => c.GetProperty("op").GetString()), Has.All.EqualTo("hardsigmoid"), Show("fail"));
        Assert.That(failed, Is.Not.Empty, "no random hardsigmoid case in the sweep: the test shows less than it says");
        foreach (var c in known.Concat(failed))
            Assert.That(c.GetProperty("diagnosis").EnumerateArray().Select(d => d.GetString()), Has.Some.Contains("hardsigmoid backward multiplies by 1/6 rounded to float32"));
        // What libtorch lacks is skipped, with the reason, and nothing else is.
        foreach (var c in byStatus.GetValueOrDefault("skipped", []))
            Assert.That(c.GetProperty("summary").GetString(),
                Does.Contain("tie_policy=first and nan_rule=propagate").Or.Contain("not among the implementation's ops"), c.GetProperty("id").ToString());
        Assert.That(exit, Is.EqualTo(1), "the random hardsigmoid cases fail");
    }

    [Test]
    public void Verify_against_libtorch_passes_the_edge_sweep_of_the_2d_ops_and_a_described_sweep()
    {
        Engine();
        var sweep = Path.Combine(Path.GetTempPath(), $"gradoracle-torch-sweep-{Environment.ProcessId}.json");
        File.WriteAllText(sweep, """
            {"sweeps": [{"op": "conv2d", "dims": {"k": [1, 3, 5], "w": [31, 33, 65]}, "attributes": {"stride": [1, 2], "padding": [0, 1]},
                         "shapes": [{"input": [3, 9, 7, "w"], "weight": [17, 9, "k", "k"], "bias": [17]}]},
                        {"op": "max_pool2d", "attributes": {"kernel_size": [2, 3], "stride": [1, 2]}, "shapes": [{"input": [1, 5, 33, 129]}]},
                        {"op": "avg_pool2d", "attributes": {"kernel_size": [[7, 7]]}, "shapes": [{"input": [1, 1, 3, 3]}]}]}
            """);
        var r = Verifier.Run(new VerifyOptions
        {
            Command = Serve, Seed = 5, RandomCases = 0, Edges = true, Filter = "2d/", Sweep = SweepFile.Load(sweep),
            FiniteDifferences = FiniteDifferenceMode.None, Timeout = TimeSpan.FromSeconds(60), // libtorch's own finite differences are another test's
        });
        string Why() => string.Join("\n", r.Cases.Where(c => c.Status is CaseStatus.Fail or CaseStatus.Error).Take(5).Select(ReportFormats.Detail));
        Assert.That(r.Cases.Count(c => c.Source == "edges" && c.Status == CaseStatus.Pass), Is.GreaterThan(500), Why());
        Assert.That(r.Cases.Count(c => c.Source == "sweep" && c.Status == CaseStatus.Pass), Is.EqualTo(3 * 3 * 2 * 2 + 4), Why());
        Assert.That(r.Cases.Where(c => c.Status is CaseStatus.Fail or CaseStatus.Error), Is.Empty, Why());
        // avg_pool2d's 7x7 kernel on a 3x3 input: refused by the rules, reported as a skipped case with the reason.
        var refused = r.Cases.Single(c => c.Id.StartsWith("sweep/avg_pool2d/"));
        Assert.That(refused.Status, Is.EqualTo(CaseStatus.Skipped));
        Assert.That(refused.Summary, Does.StartWith("not run: the op refuses this combination:"));
        Assert.That(r.Findings, Has.None.Contains("size-dependent"));
        Assert.That(r.ExitCode, Is.Zero);
    }

    [Test]
    public void Serve_refuses_an_engine_it_does_not_have()
    {
        int exit = Tools.Run("dotnet", $"\"{Tools.CliDll}\" serve --engine pytorch", out var output);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(output, Does.Contain("'pytorch' not recognized").And.Contain("'libtorch'"));
    }
}
