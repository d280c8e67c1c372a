using System.CommandLine;
using GradOracle.Cases;
using GradOracle.Protocol;
using GradOracle.Verification;
using Spectre.Console;

namespace GradOracle.Cli;

/// <summary>`gradoracle verify`, `explain` and `merge`: checking other implementations through protocol v1.</summary>
internal static class VerifyCommand
{
    private sealed class Common
    {
        public readonly Option<string> Impl = new Option<string>("--impl") { Description = "The implementation's command line (protocol v1 on stdin/stdout); default: \"impl\" of gradoracle.json." }.NotBlank();
        public readonly Option<string?> Config = new Option<string?>("--config") { Description = "A gradoracle.json of defaults and known failures (default: ./gradoracle.json when there is one); flags override it." }.ExistingFile();
        public readonly Option<string?> Cases = new Option<string?>("--cases") { Description = "reference-cases directory (default: the checkout's, if any)." }.ExistingFolder();
        public readonly Option<bool> NoReference = new("--no-reference") { Description = "Skip the reference cases; random cases only." };
        public readonly Option<int?> Seed = new("--seed") { Description = "Seed of the random cases (default: a fresh one, printed)." };
        public readonly Option<int> Random = new Option<int>("--random") { Description = "How many random cases.", DefaultValueFactory = _ => 100 }.Within(0, 1_000_000);
        public readonly Option<double> Timeout = new Option<double>("--timeout") { Description = "Seconds the implementation may take per request.", DefaultValueFactory = _ => 10 }.Seconds();
        public readonly Option<double?> Budget = new Option<double?>("--budget") { Description = "Seconds for the whole run: cases not started in time are skipped and finite-difference checks cut short, said in the report." }.Seconds();
        public readonly Option<FiniteDifferenceMode> Fd = new("--fd") { Description = "A float64 implementation's backward against finite differences of its own forward: all elements, a projection screen (cheap where the op is smooth), a seeded sample per input, or none.", DefaultValueFactory = _ => FiniteDifferenceMode.All };
        public readonly Option<bool> Edges = new("--edges") { Description = "Also run the edge sweep: every op with one dimension at a time at sizes around tile widths (1, 2, 7, 8, 9, ..., 31, 32, 33, ..., 257), channels around vector widths, odd batches." };
        public readonly Option<string?> Sweep = new Option<string?>("--sweep") { Description = "Also run the cases of this sweep file: ops, attribute grids and shapes (docs/verification.md)." }.ExistingFile();
        public readonly LimitOptions Limits = new();
        public readonly Option<int> Repeat = new Option<int>("--repeat") { Description = "Send every case K times and fail any answer that differs from the first (GPU kernels with atomics).", DefaultValueFactory = _ => 1 }.Within(1, 1000);
        public readonly Option<double> NondetTol = new Option<double>("--nondet-tol") { Description = "How far --repeat's answers may differ, element by element (gradcheck's nondet_tol); default 0: bit for bit.", DefaultValueFactory = _ => 0 }.NonNegative();
        public readonly Option<bool> Strict = new("--strict") { Description = "Where a gradient is a set (ties, NaN windows, relu at 0), accept only PyTorch's choice, not any valid one." };

        public void AddTo(Command c)
        {
            c.Add(Impl); c.Add(Config); c.Add(Cases); c.Add(NoReference); c.Add(Seed); c.Add(Random); c.Add(Timeout); c.Add(Strict); c.Add(Budget); c.Add(Fd); c.Add(Repeat); c.Add(NondetTol); c.Add(Edges); c.Add(Sweep);
            Limits.AddTo(c);
        }

        /// <summary>The options of this run: each flag given on the command line, else the config file's value, else the flag's default.</summary>
        public VerifyOptions Options(ParseResult p, string? filter = null, Shard? shard = null, string? record = null, string? against = null)
        {
            Limits.Apply(p);
            var path = p.GetValue(Config) ?? (File.Exists(VerifyConfig.FileName) ? VerifyConfig.FileName : null);
            var config = path is null ? new VerifyConfig() : VerifyConfig.Load(path);
            T Pick<T>(Option<T> flag, T? fromConfig) where T : struct => Given(p, flag) || fromConfig is null ? p.GetValue(flag) : fromConfig.Value;
            T? PickNullable<T>(Option<T?> flag, T? fromConfig) where T : struct => Given(p, flag) ? p.GetValue(flag) : fromConfig ?? p.GetValue(flag);
            var command = Given(p, Impl) ? p.GetValue(Impl) : config.Impl
                ?? throw new ParameterException("--impl", "(none)", $"is required: the implementation's command line, here or as \"impl\" in {path ?? VerifyConfig.FileName}");
            CaseStore? store = null;
            if (!Pick(NoReference, config.NoReference))
            {
                var dir = Given(p, Cases) ? p.GetValue(Cases) : config.Cases;
                if (dir is not null) store = new CaseStore(dir);
                else try { store = CaseStore.FindFromCheckout(); } catch (DirectoryNotFoundException) { store = null; }
            }
            return new VerifyOptions
            {
                Command = command!, Cases = store, Seed = PickNullable(Seed, config.Seed) ?? Environment.TickCount & 0xFFFFF,
                RandomCases = Pick(Random, config.Random), Timeout = TimeSpan.FromSeconds(Pick(Timeout, config.Timeout)),
                Filter = filter, Shard = shard ?? Shard.Whole, RecordDir = record, AgainstDir = against, Strict = Pick(Strict, config.Strict),
                Budget = PickNullable(Budget, config.Budget) is { } b ? TimeSpan.FromSeconds(b) : null, FiniteDifferences = p.GetValue(Fd),
                KnownFailures = config.KnownFailures, Repeat = p.GetValue(Repeat), NondeterminismTolerance = p.GetValue(NondetTol),
                Edges = Pick(Edges, config.Edges), Sweep = (Given(p, Sweep) ? p.GetValue(Sweep) : config.Sweep) is { } sweep ? SweepFile.Load(sweep) : null,
            };
        }

        private static bool Given(ParseResult p, Option o) => p.GetResult(o) is { Implicit: false };
    }

    public static IEnumerable<Command> Create()
    {
        var common = new Common();
        var json = new Option<bool>("--json") { Description = "Print the report as JSON instead of the table." };
        var junit = new Option<string?>("--junit") { Description = "Also write a JUnit XML report to this file." }.WritableFile();
        var report = new Option<string?>("--report") { Description = "Also write a self-contained HTML report to this file." }.WritableFile();
        var shard = new Option<string>("--shard") { Description = "Run shard i of n (i/n); the shards' --json reports merge with `gradoracle merge`.", DefaultValueFactory = _ => "1/1" };
        var record = new Option<string?>("--record") { Description = "Save the implementation's outputs and gradients for every case in this directory." }.WritableFolder();
        var against = new Option<string?>("--against") { Description = "Compare the implementation with the answers saved by --record in this directory." }.ExistingFolder();
        var filter = new Option<string?>("--filter") { Description = "Only cases whose id contains this text." };
        var verify = new Command("verify", "Check an implementation's outputs and gradients against the oracle through protocol v1.") { json, junit, report, shard, record, against, filter };
        common.AddTo(verify);
        verify.SetAction(p => Usage(() => common.Options(p, p.GetValue(filter), Shard.Parse(p.GetValue(shard)!), p.GetValue(record), p.GetValue(against)),
            o => Verify(o, p.GetValue(json), p.GetValue(junit), p.GetValue(report))));

        var explainCommon = new Common();
        var caseId = new Argument<string>("case-id") { Description = "A reference case id (max_pool2d/ties-1a2b3c4d) or random/<seed>/<k>." };
        var explain = new Command("explain", "Run one case against an implementation and explain every difference.") { caseId };
        explainCommon.AddTo(explain);
        explain.SetAction(p => Usage(() => explainCommon.Options(p), o => Explain(o, p.GetValue(caseId)!)));

        var files = new Argument<string[]>("reports") { Description = "JSON reports of the shards (from verify --json).", Arity = ArgumentArity.OneOrMore };
        var mergeJunit = new Option<string?>("--junit") { Description = "Also write the merged JUnit XML report." }.WritableFile();
        var mergeHtml = new Option<string?>("--report") { Description = "Also write the merged HTML report (with the failing cases' heat maps)." }.WritableFile();
        var merge = new Command("merge", "Merge the --json reports of verify's shards into one verdict.") { files, mergeJunit, mergeHtml };
        merge.SetAction(p => Merge(p.GetValue(files)!, p.GetValue(mergeJunit), p.GetValue(mergeHtml)));
        return [verify, explain, merge];
    }

    /// <summary>Builds the run's options and runs it; an option (or config field) that breaks its rule is a usage error, exit 2.</summary>
    private static int Usage(Func<VerifyOptions> options, Func<VerifyOptions, int> run)
    {
        VerifyOptions o;
        try { o = options(); }
        catch (ParameterException x)
        {
            Console.Error.WriteLine(x.Message);
            return 2;
        }
        return run(o);
    }

    private static int Verify(VerifyOptions o, bool json, string? junit, string? html)
    {
        using var interrupt = new Interrupt();
        o = o with { Interrupt = interrupt.Token };
        var console = json ? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }) : Output.Console();
        console.MarkupLine(Markup.Escape($"gradoracle verify: seed {o.Seed} (reproduce with --seed {o.Seed}), shard {o.Shard}"));
        VerifyReport report;
        try
        {
            report = RunWithProgress(console, o, interactive: !Console.IsOutputRedirected && !json);
        }
        catch (ImplementationUnavailableException e)
        {
            Console.Error.WriteLine($"the implementation could not be run: {e.Message}");
            return 3;
        }
        catch (ParameterException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
        // The report is printed first: a file that cannot be written afterwards must not lose it.
        if (json) Console.Out.WriteLine(ReportFormats.ToJson(report));
        else Print(console, report);
        bool written = Write("--junit", junit, () => ReportFormats.ToJunit(report)) & Write("--report", html, () => HtmlReport.Render(report));
        return !written && report.ExitCode == 0 ? 2 : report.ExitCode;
    }

    /// <summary>Writes an output file atomically; false, with the reason on stderr, when it cannot be written.</summary>
    private static bool Write(string option, string? path, Func<string> text)
    {
        if (path is null) return true;
        try { CaseStore.WriteAtomically(path, text()); return true; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"{option} {path}: could not be written: {e.Message}");
            return false;
        }
    }

    private static VerifyReport RunWithProgress(IAnsiConsole console, VerifyOptions o, bool interactive)
    {
        if (!interactive)
        {
            int last = -1;
            return Verifier.Run(o, (done, total, _) =>
            {
                int tenth = total == 0 ? 10 : done * 10 / total;
                if (tenth != last && total >= 50) { last = tenth; Console.Error.WriteLine($"  {done}/{total} cases"); }
            });
        }
        VerifyReport? result = null;
        console.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("cases");
                result = Verifier.Run(o, (done, total, id) =>
                {
                    task.MaxValue = Math.Max(total, 1);
                    task.Value = done;
                    task.Description = id.Length == 0 ? "done" : Markup.Escape(id.Length > 40 ? id[..40] : id);
                });
            });
        return result!;
    }

    private static void Print(IAnsiConsole console, VerifyReport r)
    {
        console.MarkupLine(Markup.Escape($"implementation: {r.Implementation} ({r.Dtype}), `{r.Command}`"));
        if (r.Declared.Count > 0)
            console.MarkupLine(Markup.Escape($"declared conventions (held strictly): {string.Join(", ", r.Declared.Select(d => $"{d.Key}={d.Value}"))}"));
        if (r.Strict) console.MarkupLine("--strict: where a gradient is a set, only PyTorch's choice passes");
        console.Write(ReportTable(r, console.Profile.Width));
        var failing = r.Cases.Where(c => c.Status is CaseStatus.Fail or CaseStatus.Error).ToList();
        foreach (var c in failing.Take(20))
        {
            console.WriteLine();
            console.WriteLine(ReportFormats.Detail(c));
        }
        if (failing.Count > 20) console.WriteLine($"\n(details of the other {failing.Count - 20} failing case(s): --json or --report FILE.html)");
        var exercised = r.Coverage.Where(c => c.Ran > 0).ToList();
        if (exercised.Count > 0) console.WriteLine();
        foreach (var c in exercised) console.MarkupLine(Markup.Escape($"coverage: {c}"));
        foreach (var f in r.Findings) console.MarkupLine(Markup.Escape($"finding: {f}"));
        if (r.Restarts > 0) console.WriteLine($"the implementation was restarted {r.Restarts} time(s) after crashes or hangs");
        if (r.TimeSummary() is { } time) console.MarkupLine(Markup.Escape(time));
        console.WriteLine();
        foreach (var p in r.Problems) console.MarkupLine($"[red]error:[/] {Markup.Escape(p)}");
        console.WriteLine($"{r.Counts} (seed {r.Seed}, shard {r.Shard})");
    }

    /// <summary>
    /// Every failure and error a row of its own, first; skipped cases a row per reason; passes a row per op. The case
    /// counts of the rows add up to the closing line's. Narrower than 120 columns the op joins the detail, so that the
    /// detail, the one column that wraps, keeps half the width.
    /// </summary>
    internal static Table ReportTable(VerifyReport r, int width)
    {
        bool narrow = width < 120;
        var table = new Table().Border(TableBorder.Simple).AddColumn(new TableColumn("case").NoWrap());
        if (!narrow) table.AddColumn("op");
        table.AddColumn(new TableColumn("status").NoWrap()).AddColumn("detail");
        void Row(string id, string op, CaseStatus status, string detail) =>
            table.AddRow([Markup.Escape(id), .. narrow ? [] : new[] { Markup.Escape(op) }, Status(status),
                Markup.Escape(!narrow || op.Length == 0 ? detail : detail.Length == 0 ? op : $"{op}: {detail}")]);
        foreach (var c in r.Cases.Where(c => c.Status == CaseStatus.Fail).Concat(r.Cases.Where(c => c.Status is CaseStatus.Error or CaseStatus.KnownFailure)))
            Row(c.Id, narrow && c.Id.StartsWith(c.Op + "/", StringComparison.Ordinal) ? "" : c.Op, c.Status, c.Summary.Length > 140 ? c.Summary[..140] + "..." : c.Summary);
        foreach (var g in r.Cases.Where(c => c.Status == CaseStatus.Skipped).GroupBy(c => c.SkipReason).OrderByDescending(g => g.Count()))
            Row($"{g.Count()} case(s)", VerifyReport.OpCounts(g, 6), CaseStatus.Skipped, g.Key);
        foreach (var g in r.Cases.Where(c => c.Status == CaseStatus.Pass).GroupBy(c => c.Op).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var conventions = g.SelectMany(c => c.Conventions.Select(v => $"{v.Situation}={v.Choice}").Distinct()).GroupBy(v => v)
                .Select(v => $"{v.Key} in {v.Count()}").ToList();
            Row($"{g.Count()} case(s)", g.Key, CaseStatus.Pass, conventions.Count == 0 ? "" : "valid conventions other than PyTorch's: " + string.Join(", ", conventions));
        }
        return table;
    }

    private static string Status(CaseStatus s) => s switch
    {
        CaseStatus.Pass => "[green]pass[/]",
        CaseStatus.Fail => "[red]FAIL[/]",
        CaseStatus.Error => "[red]ERROR[/]",
        CaseStatus.KnownFailure => "[yellow]known[/]",
        _ => "[grey]skipped[/]",
    };

    private static int Explain(VerifyOptions o, string id)
    {
        if (id.StartsWith("random/", StringComparison.Ordinal) && id.Split('/') is [_, var s, var k] && int.TryParse(s, out int seed) && int.TryParse(k, out int index))
            o = o with { Seed = seed, RandomCases = Math.Max(o.RandomCases, index + 1) };
        VerifyReport r;
        using var interrupt = new Interrupt();
        try { r = Verifier.Run(o with { Only = id, Interrupt = interrupt.Token }); }
        catch (ImplementationUnavailableException e) { Console.Error.WriteLine($"the implementation could not be run: {e.Message}"); return 3; }
        catch (ParameterException e) { Console.Error.WriteLine(e.Message); return 2; }
        var c = r.Cases.Single();
        Console.WriteLine(ReportFormats.Detail(c));
        foreach (var f in r.Findings) Console.WriteLine($"finding: {f}");
        foreach (var p in r.Errors) Console.Error.WriteLine($"error: {p}");
        return r.ExitCode;
    }

    private static int Merge(string[] files, string? junit, string? html)
    {
        VerifyReport merged;
        try { merged = ReportFormats.Merge(files.Select(f => ReportFormats.FromJson(File.ReadAllText(f))).ToList()); }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or ArgumentException)
        {
            Console.Error.WriteLine($"cannot merge: {e.Message}");
            return 2;
        }
        bool written = Write("--junit", junit, () => ReportFormats.ToJunit(merged)) & Write("--report", html, () => HtmlReport.Render(merged));
        Console.WriteLine($"{merged.Counts} (seed {merged.Seed}, shards {merged.Shard})");
        foreach (var c in merged.Cases.Where(c => c.Status is CaseStatus.Fail or CaseStatus.Error)) Console.WriteLine(ReportFormats.Detail(c));
        foreach (var p in merged.Problems) Console.Error.WriteLine($"error: {p}");
        return !written && merged.ExitCode == 0 ? 2 : merged.ExitCode;
    }
}
