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
/// every output and gradient against the oracle, with tolerances that fit its dtype; where a gradient is a
/// set (ties, NaN windows, relu at 0), against the set; for float64 implementations also its backward against
/// finite differences of its own forward and the invariants on its gradients. Each case is judged on its own.
/// </summary>
public static class Verifier
{
    /// <summary>The cases of a run, in order, before sharding and filtering by the implementation's ops; a filter that matches nothing is an error.</summary>
    internal static List<WorkItem> Items(VerifyOptions o) => Items(o, [], []);

    /// <summary>
    /// The cases of a run; a reference file that cannot be read is added to <paramref name="bad"/> (its path and why) and
    /// the rest go on; a sweep's combination the op refuses is added to <paramref name="refused"/> as a skipped case.
    /// </summary>
    internal static List<WorkItem> Items(VerifyOptions o, List<string> bad, List<CaseResult> refused)
    {
        var items = new List<WorkItem>();
        if (o.Cases is not null)
        {
            if (!Directory.Exists(o.Cases.Root))
                throw new ParameterException("--cases", o.Cases.Root, "is not a directory (reference cases are read from a directory such as reference-cases/)");
            var load = o.Cases.LoadAll();
            foreach (var c in load.Cases)
                items.Add(new WorkItem(c.Id, "reference", c.CreateOp(), c.Attributes.With(("tie_policy", c.TiePolicy), ("nan_rule", c.NanRule)), c.Inputs, c.GradOutput));
            bad.AddRange(load.Bad.Select(b => $"the reference case file {b.Path} could not be read, so it was not run: {b.Reason}"));
        }
        int k = 0;
        foreach (var c in RandomCases.Generate(o.Seed, o.RandomCases))
        {
            var dy = GradientChecker.RandomGradOutput(c.Op.Forward(c.Inputs).Shape, o.Seed * 7919 + k);
            items.Add(new WorkItem($"random/{o.Seed}/{k++}", "random", c.Op, c.Op.Attributes, c.Inputs, dy));
        }
        if (o.Edges)
            foreach (var e in EdgeCases.Generate(o.Seed))
                items.Add(new WorkItem(e.Id, "edges", e.Case.Op, e.Case.Op.Attributes, e.Case.Inputs, GradOutputFor(e.Case.Op, e.Case.Inputs, e.Id)) { Edge = (e.Axis, e.Size) });
        bool Chosen(string id) => (o.Filter is null || id.Contains(o.Filter, StringComparison.OrdinalIgnoreCase)) && (o.Only is null || id == o.Only);
        int refusedBefore = refused.Count;
        if (o.Sweep is not null)
            foreach (var c in o.Sweep.Cases(o.Seed).Where(c => Chosen(c.Id)))
            {
                if (c.Op is null) refused.Add(new CaseResult(c.Id, c.Id.Split('/')[1], "", "sweep", CaseStatus.Skipped, "not run: the op refuses this combination: " + c.Refused,
                    [], [], [], $"gradoracle explain --impl {WorkItem.Quote(o.Command)} '{c.Id}' --sweep {WorkItem.Quote(o.Sweep.Path)} --seed {o.Seed}", 0));
                else items.Add(new WorkItem(c.Id, "sweep", c.Op, c.Op.Attributes, c.InputNames, () =>
                {
                    var inputs = c.Make!();
                    return (inputs, GradOutputFor(c.Op, inputs, c.Id)); // its forward also refuses shapes the op does not take
                }));
            }
        var chosen = items.Where(i => Chosen(i.Id)).ToList();
        if (refused.Count > refusedBefore) return chosen;
        if (chosen.Count == 0 && o.Only is not null)
            throw new ParameterException("case-id", o.Only, "is no case of this run (reference ids look like max_pool2d/ties-1a2b3c4d; random ones random/<seed>/<k>)");
        if (chosen.Count == 0 && o.Filter is not null)
            throw new ParameterException("--filter", o.Filter, $"matches none of the run's {items.Count} case ids (reference ids look like max_pool2d/ties-1a2b3c4d; random ones random/<seed>/<k>)");
        return chosen;
    }

    /// <summary>A grad_output for a generated case, seeded by its id (the same in every run of the case).</summary>
    private static Tensor GradOutputFor(IOp op, NamedTensors inputs, string id) =>
        GradientChecker.RandomGradOutput(op.Forward(inputs).Shape, SweepFile.StableSeed(id));

    /// <summary>The items of one shard: item k belongs to shard (k mod count) + 1.</summary>
    internal static List<WorkItem> Shard(List<WorkItem> items, VerifyOptions o) =>
        items.Where((_, k) => o.Shard.Holds(k)).ToList();

    /// <summary>Runs the verification; <see cref="ImplementationUnavailableException"/> when the implementation cannot be run at all.</summary>
    public static VerifyReport Run(VerifyOptions o, Action<int, int, string>? progress = null)
    {
        var bad = new List<string>();
        var refused = new List<CaseResult>();
        var all = Items(o, bad, refused);
        var items = Shard(all, o);
        using var client = new ImplementationClient(o.Command, o.Timeout) { Interrupt = o.Interrupt };
        var hello = client.Start();
        var declared = DeclaredConventions.Of(hello);
        var supported = hello.Ops.ToHashSet();
        var results = new List<CaseResult>();
        DateTime? deadline = o.Budget is { } b ? DateTime.UtcNow + b : null;
        for (int i = 0; i < items.Count; i++)
        {
            progress?.Invoke(i, items.Count, items[i].Id);
            var item = items[i];
            if (o.Interrupt.IsCancellationRequested)
            {
                results.Add(Result(item, o, CaseStatus.Skipped, VerifyReport.InterruptedSummary, [], [], [], 0));
                continue;
            }
            if (DateTime.UtcNow >= deadline)
            {
                results.Add(Result(item, o, CaseStatus.Skipped, $"not run: the --budget of {o.Budget!.Value.TotalSeconds:0.#} s was spent", [], [], [], 0));
                continue;
            }
            if (!supported.Contains(item.Oracle.Name))
            {
                results.Add(Result(item, o, CaseStatus.Skipped, item.Oracle.Name + CaseResult.NotAmongOps, [], [], [], 0));
                continue;
            }
            var sw = Stopwatch.StartNew();
            try { _ = item.Inputs; }
            catch (ParameterException e)
            {
                results.Add(Result(item, o, CaseStatus.Skipped, "not run: the op refuses this combination: " + e.Message, [], [], [], 0));
                continue;
            }
            var eval = VerifyCase(client, item, hello.Dtype, o, declared, deadline);
            results.Add(eval.ToResult(item, o, sw.Elapsed.TotalSeconds));
            item.Release();
        }
        progress?.Invoke(items.Count, items.Count, "");
        // Refused sweep cases are numbered after the run's cases, so that each lands in exactly one shard.
        results.AddRange(refused.Where((_, k) => o.Shard.Holds(all.Count + k)));
        var (judged, listed) = KnownFailure.Apply(results, o.KnownFailures, o.Strict, unmatched: o.Shard == Verification.Shard.Whole && o.Filter is null);
        return new VerifyReport(hello.Name, o.Command, hello.Dtype, o.Seed, o.Shard.ToString(), [.. judged],
            [.. ConventionSummary.Findings(results, declared, o.Strict), .. SizeDependence.Findings(judged), .. listed], client.Stderr, client.Restarts)
        {
            Errors = [.. bad, .. DeclaredConventions.OpProblems(hello)], Declared = declared, Strict = o.Strict, Interrupted = o.Interrupt.IsCancellationRequested,
        };
    }

    internal static CaseResult Result(WorkItem item, VerifyOptions o, CaseStatus status, string summary,
        IEnumerable<TensorDiff> diffs, IEnumerable<string> diagnosis, IEnumerable<string> notes, double seconds) =>
        new(item.Id, item.Oracle.Name, item.Oracle.AttributeText, item.Source, status, summary, [.. diffs], [.. diagnosis], [.. notes], item.Repro(o), seconds)
        {
            AttributeValues = Exercised(item),
        };

    /// <summary>The case's attribute values, and for each optional input whether it was given ("bias": "given").</summary>
    private static ImmutableDictionary<string, string> Exercised(WorkItem item) =>
        item.Oracle.Attributes.Select(a => KeyValuePair.Create(a.Key, OpAttributes.Format(a.Value)))
            .Concat(item.Oracle.Descriptor.Inputs.Where(i => i.Optional)
                .Select(i => KeyValuePair.Create($"input {i.Name}", item.InputNames.Contains(i.Name) ? "given" : "left out")))
            .ToImmutableDictionary();

    /// <summary>Runs one case and judges it: everything here depends on this case alone.</summary>
    internal static Evaluation VerifyCase(ImplementationClient client, WorkItem item, string dtype, VerifyOptions o, IReadOnlyDictionary<string, string> declared, DateTime? deadline = null)
    {
        var inputs = DtypeTolerance.Round(item.Inputs, dtype);
        var dy = DtypeTolerance.Round(item.GradOutput, dtype);
        var ev = new Evaluation { Dtype = dtype, Inputs = inputs, GradOutput = dy, Rules = CaseRules.For(item.Oracle, declared, o.Strict) };
        try
        {
            ev.Expected = OpResult.Of(ev.Rules.Rule, inputs, dy);
        }
        catch (ParameterException e)
        {
            ev.Status = CaseStatus.Skipped;
            ev.Summary = $"rounding the inputs to {dtype} leaves a case the oracle refuses: {e.Message}";
            return ev;
        }
        if (item.Oracle is IHasConventions h) ev.Situations.AddRange(h.SituationsAt(inputs));
        // A message past the element limit would be refused on either side: the case is not sent rather than blamed on the implementation.
        long request = inputs.Items.Sum(t => (long)t.Value.Count) + dy.Count, reply = ev.Expected.Output.Count + ev.Expected.Grads.Items.Sum(t => (long)t.Value.Count);
        if (Math.Max(request, reply) > Limits.Current.MaxElements)
        {
            ev.Status = CaseStatus.Skipped;
            ev.Summary = $"not sent: its request holds {request:N0} elements and its answer {reply:N0}, more than --max-elements {Limits.Current.MaxElements:N0} allows in one message (raise it to run this case)";
            return ev;
        }

        var run = new RunRequest(0, item.Oracle.Name, item.Attributes, inputs, dy);
        var outcome = client.Run(run);
        switch (outcome)
        {
            case Outcome.Failed when o.Interrupt.IsCancellationRequested:
                // An interrupt ends the implementation's process group: what failed then is the interrupt's doing.
                ev.Status = CaseStatus.Skipped;
                ev.Summary = VerifyReport.InterruptedSummary;
                return ev;
            case Outcome.Failed f:
                ev.Status = CaseStatus.Error;
                ev.Summary = $"{f.Kind}: {f.Reason}";
                return ev;
            case Outcome.Answered { Response: ErrorResponse e }:
                ev.Status = CaseStatus.Error;
                ev.Summary = $"the implementation reported an error: {e.Message}";
                return ev;
            case Outcome.Answered { Response: UnsupportedResponse u }:
                ev.Status = CaseStatus.Skipped;
                ev.Summary = "the implementation answered unsupported" + (u.Reason is { Length: > 0 } why ? $": {why}" : "");
                return ev;
            case Outcome.Answered { Response: RunResponse r }:
                ev.Actual = new OpResult(r.Output, r.Grads ?? new NamedTensors(), r.Extras);
                break;
            default:
                ev.Status = CaseStatus.Error;
                ev.Summary = "the implementation answered a run request with a hello reply";
                return ev;
        }

        try { Comparison.Judge(item, ev); }
        catch (ParameterException e)
        {
            // The oracle's own failure on an answer it could not read: this case's error, said as GradOracle's; the run goes on.
            ev.Status = CaseStatus.Error;
            ev.Summary = $"GradOracle could not judge this answer ({e.Message}): a GradOracle bug, please report it";
            return ev;
        }
        if (Repetition.Difference(client, run, ev.Actual, o.Repeat, o.NondeterminismTolerance) is { } varies)
        {
            if (ev.Status == CaseStatus.Pass) { ev.Status = CaseStatus.Fail; ev.Summary = varies; }
            else ev.Notes.Add(varies);
        }
        Record(item, ev, o);
        if (ev.Status == CaseStatus.Pass && dtype == "float64") SelfConsistency(client, item, ev, o, deadline);
        if (ev.Status == CaseStatus.Fail)
        {
            ev.Diagnosis.AddRange(Diagnosis.Explain(item, ev));
            // A known bug that reproduces the answer to float64's rounding explains it better than float32's would.
            if (!ev.Explained && !Diagnosis.NamesABug(ev.Diagnosis) && PrecisionHint.For(ev) is { } hint)
            {
                ev.Diagnosis.Remove(Diagnosis.Unexplained);
                ev.Diagnosis.Add(hint);
            }
        }
        return ev;
    }

    /// <summary>A float64 implementation's backward against finite differences of its own forward, and its gradients against the invariants.</summary>
    private static void SelfConsistency(ImplementationClient client, WorkItem item, Evaluation ev, VerifyOptions o, DateTime? deadline)
    {
        // An answer that follows another valid convention than the rule's was judged against the whole valid set, which
        // implies the invariants every valid gradient has; the rule's own (one receiver per window, say) would not apply.
        var rule = ev.Rules!.Rule;
        bool byRule = ev.Conventions.Count == 0;
        if (!byRule) ev.Notes.Add("judged against the set of valid gradients, which holds the invariants every valid gradient has");
        else if (rule is IHasInvariants h)
        {
            var inv = h.CheckInvariants(ev.Inputs, ev.GradOutput, ev.Actual!.Grads);
            if (!inv.Holds)
            {
                ev.Status = CaseStatus.Fail;
                ev.Summary = "invariants broken: " + string.Join("; ", inv.Violations);
            }
            else ev.Notes.Add($"invariants hold ({inv.Checked.Length})");
        }
        int elements = item.Oracle.DifferentiableInputs.Sum(n => ev.Inputs[n].Count);
        if (o.FiniteDifferences == FiniteDifferenceMode.None || !item.Oracle.Descriptor.FiniteDifferencesOfForward) return;
        // At size each pass is a forward at size and a whole case over the protocol: the projection screen's few passes over
        // every element, and the element sample only when asked for (--fd sampled), since its passes number in the dozens.
        bool atSize = elements > o.FiniteDifferenceMaxElements, kinks = ev.Situations.Count > 0;
        if (atSize && kinks && o.FiniteDifferences != FiniteDifferenceMode.Sampled)
        {
            ev.Notes.Add($"finite differences not run: {elements} differentiable elements, more than the {o.FiniteDifferenceMaxElements} checked one by one, and ties or kinks where a projection screen does not apply (--fd sampled checks a sample)");
            return;
        }
        // At ties, NaN windows and relu's 0 a projection disagrees and bisects down to elements: the element check is cheaper there.
        bool project = !kinks && (o.FiniteDifferences == FiniteDifferenceMode.Projection || atSize);
        bool elementCheck = o.FiniteDifferences == FiniteDifferenceMode.Sampled || (o.FiniteDifferences == FiniteDifferenceMode.All && !atSize)
            || (o.FiniteDifferences == FiniteDifferenceMode.Projection && kinks);
        string? projectionScope = atSize ? $" (at size: a projection screen of all {elements} elements, which errors that cancel along the direction can pass; --fd sampled adds an element check of the corners and a seeded sample)" : null;
        var remote = new RemoteOp(client, item, ev.Actual!.Output.Shape, deadline, o.Interrupt);
        // One process answers one request at a time: no parallel passes, but batches of them pipelined (RemoteOp is
        // an IBatchedForward); the oracle's structure compresses them. At a kink the declared rule picks the value only
        // when the answer follows it; otherwise finite differences bound it and the valid set was judged above.
        var sample = o.FiniteDifferences == FiniteDifferenceMode.Sampled ? Sample(item.Id, ev.Inputs, item.Oracle.DifferentiableInputs, o.SampledElements) : null;
        GradCheckResult? fd = null;
        ProjectionResult? screen = null;
        // The checker reports a pass that threw as a result that could not run; either way the failure is the remote's.
        try
        {
            if (project)
                screen = ProjectionCheck.Screen(remote, ev.Inputs, ev.GradOutput, new ProjectionOptions
                    { Declared = byRule ? rule : null, Parallel = false, Seed = StableSeed(item.Id, 17) });
            if (elementCheck && (screen is null || screen is { Passed: true, Error: null }) && remote.Failure is null)
                fd = GradientChecker.Check(remote, ev.Inputs, ev.GradOutput, new GradCheckOptions { Declared = byRule ? rule : null, Parallel = false, Elements = sample is null ? null : sample.Contains });
        }
        catch (ParameterException) when (remote.Failure is not null) { }
        if (remote.Failure is not null || (fd is null && screen is null))
        {
            if (remote.OutOfTime) { ev.Notes.Add($"finite differences not finished: {remote.Failure}"); return; }
            if (o.Interrupt.IsCancellationRequested)
            {
                // An interrupt ends the implementation's process group: what failed then is the interrupt's doing.
                ev.Status = CaseStatus.Skipped;
                ev.Summary = VerifyReport.InterruptedSummary + " (during the finite-difference check)";
                return;
            }
            // Its first answer was right, but it failed while being probed: a failure of this case, never a silent pass.
            ev.Status = CaseStatus.Error;
            ev.Summary = $"its answer matches, but it failed during the finite-difference check of its own forward: {remote.Failure}";
            return;
        }
        if (screen is not null)
        {
            Projected(ev, screen, projectionScope);
            if (fd is null) return;
        }
        if (fd!.Error is not null)
        {
            CouldNotRun(ev, fd.Error);
            return;
        }
        var scope = sample is null || fd.Checked >= elements ? ""
            : $" (a sample of {fd.Checked} of the {elements} elements: {sample.Describe()}; an error only in elements outside it is caught by the comparison with the oracle, not here{(atSize ? $"; at size, more than the {o.FiniteDifferenceMaxElements} elements checked one by one" : "; --fd all checks every one")})";
        if (fd.Passed) ev.Notes.Add($"backward agrees with finite differences of its own forward ({fd.Checked} elements, {fd.Kinks} kinks){scope}");
        else
        {
            ev.Status = CaseStatus.Fail;
            ev.Summary = "backward disagrees with finite differences of its own forward" + scope;
            ev.Notes.Add(fd.Describe());
        }
    }

    /// <summary>A check that could not run on an answer that matched: an error of the case, never a pass or a disagreement.</summary>
    private static void CouldNotRun(Evaluation ev, string why)
    {
        ev.Status = CaseStatus.Error;
        ev.Summary = $"its answer matches, but the finite-difference check of its own forward could not run: {why}";
    }

    /// <summary>A seed from text that is the same in every process (string.GetHashCode differs per process).</summary>
    private static int StableSeed(string text, int start) => text.Aggregate(start, (h, c) => h * 31 + c);

    /// <summary>The projection screen's verdict, said as the full check's is; <paramref name="scope"/> what it covered when not the --fd projection mode.</summary>
    private static void Projected(Evaluation ev, ProjectionResult screen, string? scope = null)
    {
        scope ??= " (a projection screen; --fd all checks every element)";
        if (screen.Error is not null) CouldNotRun(ev, screen.Error);
        else if (screen.Passed)
            ev.Notes.Add($"backward agrees with finite differences of its own forward along a random direction over {screen.Screened} elements ({screen.ForwardPasses} forward passes){scope}");
        else
        {
            ev.Status = CaseStatus.Fail;
            ev.Summary = "backward disagrees with finite differences of its own forward" + scope;
            ev.Notes.Add(screen.Describe());
        }
    }

    /// <summary>--fd sampled and cases at size: per input, the elements <see cref="ElementSample"/> draws from the case's id, the same in every run of the case.</summary>
    private static ElementSample Sample(string id, NamedTensors inputs, IReadOnlyList<string> names, int count) =>
        ElementSample.Draw(names.Select(n => (n, inputs[n].Shape)), count, name => StableSeed(id + "/" + name, inputs[name].Count));

    /// <summary>Save the implementation's answer (--record) or compare it with a saved one (--against).</summary>
    private static void Record(WorkItem item, Evaluation ev, VerifyOptions o)
    {
        if (ev.Actual is null) return;
        if (o.RecordDir is not null)
            try { Recording.Save(o.RecordDir, item, ev.Actual.Output, ev.Actual.Grads); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { ev.Notes.Add($"--record: this case's answer could not be saved: {e.Message}"); }
        if (o.AgainstDir is not null)
        {
            var problem = Recording.Compare(o.AgainstDir, item, ev.Actual.Output, ev.Actual.Grads, ev.Dtype);
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
