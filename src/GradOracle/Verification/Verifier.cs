using System.Collections.Immutable;
using System.Diagnostics;
using GradOracle.Cases;
using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Protocol;
using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>
/// `gradoracle verify`: runs an implementation over the reference cases and seeded random cases and judges
/// every output and gradient against the oracle, with tolerances that fit its dtype; for float64
/// implementations also its backward against finite differences of its own forward and the invariants on
/// its gradients; recognises the tie policy and NaN rule it follows.
/// </summary>
public static class Verifier
{
    /// <summary>The cases of a run, in order, before sharding and filtering by the implementation's ops.</summary>
    internal static List<WorkItem> Items(VerifyOptions o)
    {
        var items = new List<WorkItem>();
        if (o.Cases is not null)
            foreach (var path in o.Cases.VerifiedFiles())
            {
                var c = CaseStore.Load(path);
                items.Add(new WorkItem(c.Id, "reference", c.CreateOp(), c.Attrs.With(("tie_policy", c.TiePolicy), ("nan_rule", c.NanRule)), c.Inputs, c.GradOutput));
            }
        int k = 0;
        foreach (var c in RandomCases.Generate(o.Seed, o.RandomCases))
        {
            var dy = GradientChecker.RandomGradOutput(c.Op.Forward(c.Inputs).Shape, o.Seed * 7919 + k);
            items.Add(new WorkItem($"random/{o.Seed}/{k++}", "random", c.Op, c.Op.Attrs, c.Inputs, dy));
        }
        return items.Where(i => o.Filter is null || i.Id.Contains(o.Filter, StringComparison.OrdinalIgnoreCase)).ToList();
    }

    /// <summary>The items of one shard: item k belongs to shard (k mod count) + 1.</summary>
    internal static List<WorkItem> Shard(List<WorkItem> items, VerifyOptions o) =>
        items.Where((_, k) => k % o.ShardCount == o.ShardIndex - 1).ToList();

    /// <summary>Runs the verification; <see cref="ImplementationUnavailableException"/> when the implementation cannot be run at all.</summary>
    public static VerifyReport Run(VerifyOptions o, Action<int, int, string>? progress = null)
    {
        if (o.ShardCount < 1 || o.ShardIndex < 1 || o.ShardIndex > o.ShardCount)
            throw new ParameterException("--shard", $"{o.ShardIndex}/{o.ShardCount}", "must be i/n with 1 <= i <= n");
        using var client = new ImplementationClient(o.Command, o.Timeout);
        var hello = client.Start();
        var supported = hello.Ops.ToHashSet();
        var items = Shard(Items(o), o);
        var results = new List<(WorkItem Item, CaseResult Result, Evaluation? Eval)>();
        for (int i = 0; i < items.Count; i++)
        {
            progress?.Invoke(i, items.Count, items[i].Id);
            var item = items[i];
            if (!supported.Contains(item.Oracle.Name))
            {
                results.Add((item, Result(item, o, CaseStatus.Skipped, $"{item.Oracle.Name} is not among the implementation's ops", [], [], [], 0), null));
                continue;
            }
            var sw = Stopwatch.StartNew();
            var eval = Evaluate(client, item, hello.Dtype, o);
            results.Add((item, eval.ToResult(item, o, sw.Elapsed.TotalSeconds), eval));
        }
        progress?.Invoke(items.Count, items.Count, "");
        var findings = Policies.Resolve(results, out var resolved);
        return new VerifyReport(hello.Name, o.Command, hello.Dtype, o.Seed, $"{o.ShardIndex}/{o.ShardCount}", [.. resolved], [.. findings], client.Stderr, client.Restarts);
    }

    internal static CaseResult Result(WorkItem item, VerifyOptions o, CaseStatus status, string summary,
        IEnumerable<TensorDiff> diffs, IEnumerable<string> diagnosis, IEnumerable<string> notes, double seconds) =>
        new(item.Id, item.Oracle.Name, item.Oracle.Attributes, item.Source, status, summary, [.. diffs], [.. diagnosis], [.. notes], item.Repro(o), seconds);

    /// <summary>Runs one case and compares.</summary>
    internal static Evaluation Evaluate(ImplementationClient client, WorkItem item, string dtype, VerifyOptions o)
    {
        var inputs = DtypeTolerance.Round(item.Inputs, dtype);
        var dy = DtypeTolerance.Round(item.GradOutput, dtype);
        var ev = new Evaluation { Dtype = dtype, Inputs = inputs, GradOutput = dy };
        Tensor expectedOut;
        NamedTensors expectedGrads;
        try
        {
            expectedOut = item.Oracle.Forward(inputs);
            expectedGrads = item.Oracle.Backward(inputs, dy);
        }
        catch (ParameterException e)
        {
            ev.Status = CaseStatus.Skipped;
            ev.Summary = $"rounding the inputs to {dtype} leaves a case the oracle refuses: {e.Message}";
            return ev;
        }
        ev.Expected = expectedOut;
        ev.ExpectedGrads = expectedGrads;

        var outcome = client.Run(new RunRequest(0, item.Oracle.Name, item.Attrs, inputs, dy));
        switch (outcome)
        {
            case Outcome.Failed f:
                ev.Status = CaseStatus.Error;
                ev.Summary = $"{f.Kind}: {f.Reason}";
                return ev;
            case Outcome.Answered { Response: ErrorResponse e }:
                ev.Status = CaseStatus.Error;
                ev.Summary = $"the implementation reported an error: {e.Message}";
                return ev;
            case Outcome.Answered { Response: UnsupportedResponse }:
                ev.Status = CaseStatus.Skipped;
                ev.Summary = "the implementation answered unsupported";
                return ev;
            case Outcome.Answered { Response: RunResponse r }:
                ev.Actual = r.Output;
                ev.ActualGrads = r.Grads;
                break;
            default:
                ev.Status = CaseStatus.Error;
                ev.Summary = "the implementation answered a run request with a hello reply";
                return ev;
        }

        Compare(item, ev, dtype);
        Record(item, ev, o);
        if (ev.Status == CaseStatus.Pass && dtype == "float64") SelfConsistency(client, item, ev, o);
        if (ev.Status == CaseStatus.Fail) ev.Diagnosis.AddRange(Diagnosis.Explain(item, ev));
        return ev;
    }

    private static void Compare(WorkItem item, Evaluation ev, string dtype)
    {
        var op = item.Oracle;
        var actualGrads = ev.ActualGrads;
        var allow = DtypeTolerance.Allowances(op, ev.Inputs, ev.GradOutput, ev.Expected!, ev.ExpectedGrads!, dtype);
        var pairs = new List<(string Key, Tensor Expected, Tensor? Actual)> { ("output", ev.Expected!, ev.Actual) };
        foreach (var name in op.DifferentiableInputs)
            pairs.Add(($"grads.{name}", ev.ExpectedGrads![name], actualGrads is not null && actualGrads.Contains(name) ? actualGrads[name] : null));
        foreach (var (key, expected, actual) in pairs)
        {
            if (actual is null) { ev.Diffs.Add(new TensorDiff(key, expected.Count, expected.Count, [], $"{key}: missing from the response")); continue; }
            ev.Tensors[key] = (expected, actual);
            if (actual.Shape != expected.Shape) { ev.Diffs.Add(new TensorDiff(key, expected.Count, expected.Count, [], $"{key}: shape {actual.Shape}, expected {expected.Shape}")); continue; }
            var diff = Diff(item, ev, key, expected, actual, Tolerance.ComparesExactly(op) ? null : allow[key], dtype);
            if (diff is not null) ev.Diffs.Add(diff);
        }
        ev.Status = ev.Diffs.Count == 0 ? CaseStatus.Pass : CaseStatus.Fail;
        ev.Summary = ev.Diffs.Count == 0 ? "matches" : string.Join("; ", ev.Diffs.Select(d => d.Problem ?? $"{d.Tensor}: {d.Count} of {d.Total} differ"));
    }

    /// <summary>The elements of <paramref name="actual"/> outside their allowance (bit-exact after rounding when <paramref name="allowance"/> is null).</summary>
    internal static TensorDiff? Diff(WorkItem item, Evaluation ev, string key, Tensor expected, Tensor actual, double[]? allowance, string dtype)
    {
        var bad = new List<int>();
        for (int i = 0; i < expected.Count; i++)
        {
            double e = DtypeTolerance.Round(expected.At(i), dtype), a = DtypeTolerance.Round(actual.At(i), dtype);
            bool ok = double.IsNaN(e) || double.IsNaN(a) ? double.IsNaN(e) && double.IsNaN(a)
                : allowance is null || double.IsInfinity(e) || double.IsInfinity(a) ? e == a
                : Math.Abs(a - e) <= allowance[i];
            if (!ok) bad.Add(i);
        }
        if (bad.Count == 0) return null;
        var worst = bad.OrderByDescending(i => double.IsNaN(expected.At(i)) != double.IsNaN(actual.At(i)) ? double.PositiveInfinity : Math.Abs(actual.At(i) - expected.At(i)))
            .Take(5).Select(i => Context.Describe(item, ev, key, i, expected.At(i), actual.At(i))).ToImmutableArray();
        return new TensorDiff(key, bad.Count, expected.Count, worst, null);
    }

    /// <summary>A float64 implementation's backward against finite differences of its own forward, and its gradients against the invariants.</summary>
    private static void SelfConsistency(ImplementationClient client, WorkItem item, Evaluation ev, VerifyOptions o)
    {
        if (item.Oracle is IHasInvariants h && ev.ActualGrads is { } g)
        {
            var inv = h.CheckInvariants(ev.Inputs, ev.GradOutput, g);
            if (!inv.Holds)
            {
                ev.Status = CaseStatus.Fail;
                ev.Summary = "invariants broken: " + string.Join("; ", inv.Violations);
            }
            else ev.Notes.Add($"invariants hold ({inv.Checked.Length})");
        }
        int elements = item.Oracle.DifferentiableInputs.Sum(n => ev.Inputs[n].Count);
        if (elements > o.FiniteDifferenceMaxElements || item.Oracle is StochasticPool) return;
        var remote = new RemoteOp(client, item);
        // One process answers one request at a time: no parallel passes, but batches of them pipelined (RemoteOp is
        // an IBatchedForward); the oracle's structure compresses them.
        GradCheckResult? fd = null;
        try { fd = GradientChecker.Check(remote, ev.Inputs, ev.GradOutput, new GradCheckOptions { Declared = item.Oracle, Parallel = false }); }
        catch (ParameterException) when (remote.Failure is not null) { /* a pass failed: noted below */ }
        if (remote.Failure is not null || fd is null) { ev.Notes.Add($"finite differences not run: {remote.Failure}"); return; }
        if (fd.Passed) ev.Notes.Add($"backward agrees with finite differences of its own forward ({fd.Checked} elements, {fd.Kinks} kinks)");
        else
        {
            ev.Status = CaseStatus.Fail;
            ev.Summary = "backward disagrees with finite differences of its own forward";
            ev.Notes.Add(fd.Describe());
        }
    }

    /// <summary>Save the implementation's answer (--record) or compare it with a saved one (--against).</summary>
    private static void Record(WorkItem item, Evaluation ev, VerifyOptions o)
    {
        if (ev.Actual is null) return;
        var grads = ev.ActualGrads ?? new NamedTensors();
        if (o.RecordDir is not null) Recording.Save(o.RecordDir, item, ev.Actual, grads);
        if (o.AgainstDir is not null)
        {
            var problem = Recording.Compare(o.AgainstDir, item, ev.Actual, grads, ev.Dtype);
            if (problem is null) ev.Notes.Add("unchanged since the recording");
            else
            {
                ev.Diffs.Add(new TensorDiff("recording", 1, 1, [], "changed since the recording: " + problem));
                ev.Status = CaseStatus.Fail;
                ev.Summary = ev.Summary == "matches" ? "changed since the recording" : ev.Summary + "; changed since the recording";
            }
        }
    }
}

/// <summary>
/// The implementation behind the IOp interface, for the finite-difference checker (with the oracle op's Jacobian
/// structure); a batch of forward passes goes out pipelined.
/// </summary>
internal sealed class RemoteOp(ImplementationClient client, WorkItem item) : IOp, IHasJacobianStructure, IBatchedForward
{
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) =>
        (item.Oracle as IHasJacobianStructure)?.StructureOf(input, inputs, outputShape);

    public string? Failure { get; private set; }
    public string Name => item.Oracle.Name;
    public OpAttributes Attrs => item.Oracle.Attrs;
    public IReadOnlyList<string> DifferentiableInputs => item.Oracle.DifferentiableInputs;

    public Tensor Forward(NamedTensors inputs) => Answer(client.Run(Request(inputs, null))).Output;

    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput) => Answer(client.Run(Request(inputs, gradOutput))).Grads ?? new NamedTensors();

    // The first failure ends the check: the requests after it are not worth a restart each.
    public IReadOnlyList<Tensor> ForwardAll(IReadOnlyList<NamedTensors> inputs) =>
        client.RunAll([.. inputs.Select(x => Request(x, null))], stopAtFirstFailure: true).Select(o => Answer(o).Output).ToList();

    private RunRequest Request(NamedTensors inputs, Tensor? dy) => new(0, item.Oracle.Name, item.Attrs, inputs, dy);

    private RunResponse Answer(Outcome outcome)
    {
        if (outcome is Outcome.Answered { Response: RunResponse r }) return r;
        Failure = outcome.ToString();
        throw new ParameterException("implementation", item.Oracle.Name, $"did not answer: {outcome}");
    }
}
