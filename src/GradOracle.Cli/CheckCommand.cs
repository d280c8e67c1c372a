using System.CommandLine;
using GradOracle.Checking;
using GradOracle.Torch;
using Spectre.Console;

namespace GradOracle.Cli;

/// <summary>`gradoracle check`: every built-in layer through finite differences, its invariants and libtorch.</summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var filter = new Option<string?>("--filter") { Description = "Only cases whose layer name or exercised feature contains this text (e.g. max_pool, ties, rank-3)." };
        var seed = new Option<int>("--seed") { Description = "Seed of the random upstream gradients.", DefaultValueFactory = _ => 1 };
        var details = new Option<bool>("--details") { Description = "Print the worst elements of every case, not only of failures." };
        var noTorch = new Option<bool>("--no-torch") { Description = "Skip the libtorch comparison." };
        var command = new Command("check", "Check every built-in layer's analytic gradient against finite differences, its invariants and libtorch.")
        {
            filter, seed, details, noTorch,
        };
        command.SetAction(parse => Run(parse.GetValue(filter), parse.GetValue(seed), parse.GetValue(details), parse.GetValue(noTorch)));
        return command;
    }

    private sealed record Row(CheckOutcome Outcome, ParityResult? Parity)
    {
        public bool Passed => Outcome.Passed && Parity?.Passed != false;
    }

    private static int Run(string? filter, int seed, bool details, bool noTorch)
    {
        var console = Output.Console();
        var cases = CheckSuite.All()
            .Where(c => filter is null || c.Op.Name.Contains(filter, StringComparison.OrdinalIgnoreCase)
                        || c.Exercises.Any(e => e.Contains(filter, StringComparison.OrdinalIgnoreCase)))
            .ToList();
        if (cases.Count == 0)
        {
            console.MarkupLine($"[red]no case matches --filter {Markup.Escape(filter ?? "")}[/]");
            return 2;
        }

        var torch = TorchBridge.Availability;
        bool useTorch = !noTorch && torch.IsAvailable;
        console.MarkupLine(noTorch ? "libtorch: skipped (--no-torch)" : Markup.Escape(torch.IsAvailable ? $"libtorch {torch.Version} answered the libtorch column" : torch.Message));

        var rows = cases.Select(c =>
        {
            var o = CheckOutcome.Run(c, seed);
            return new Row(o, useTorch ? TorchParity.Compare(c.Op, c.Inputs, o.GradOutput) : null);
        }).ToList();
        var table = new Table().Border(TableBorder.Simple)
            .AddColumn("layer").AddColumn("configuration").AddColumn(new TableColumn("elements").RightAligned())
            .AddColumn(new TableColumn("kinks").RightAligned()).AddColumn(new TableColumn("worst error").RightAligned())
            .AddColumn("invariants").AddColumn("libtorch").AddColumn("verdict");
        foreach (var r in rows)
        {
            var o = r.Outcome;
            var g = o.Gradients;
            table.AddRow(
                Markup.Escape(o.Case.Op.Name),
                Markup.Escape(o.Case.Configuration),
                g.Checked.ToString(),
                g.Kinks.ToString(),
                g.WorstAbsoluteError.ToString("0.0e+0"),
                o.Invariants.Holds ? $"{o.Invariants.Checked.Length} hold" : $"[red]{o.Invariants.Violations.Length} broken[/]",
                TorchCell(r.Parity),
                r.Passed ? "[green]pass[/]" : "[red]FAIL[/]");
        }
        console.Write(table);

        foreach (var r in rows.Where(r => !r.Passed || details))
        {
            console.WriteLine();
            console.WriteLine(r.Outcome.Gradients.Describe());
            if (!r.Outcome.Invariants.Holds || details) console.WriteLine(r.Outcome.Invariants.ToString());
            if (r.Parity is { Passed: false } or { Status: ParityStatus.KnownDivergence }) console.WriteLine("libtorch: " + r.Parity);
        }
        int failed = rows.Count(r => !r.Passed);
        int elements = rows.Sum(r => r.Outcome.Gradients.Checked), kinks = rows.Sum(r => r.Outcome.Gradients.Kinks);
        int agreed = rows.Count(r => r.Parity?.Status == ParityStatus.Agree);
        console.WriteLine();
        console.MarkupLine(failed == 0
            ? $"[green]all {rows.Count} cases pass[/] ({elements} gradient elements checked, {kinks} kinks" + (useTorch ? $", {agreed} cases agree with libtorch {torch.Version})" : ")")
            : $"[red]{failed} of {rows.Count} cases fail[/]");
        return failed == 0 ? 0 : 1;
    }

    private static string TorchCell(ParityResult? p) => p switch
    {
        null => "-",
        { Status: ParityStatus.Agree } when p.Tensors.All(t => t.Exact) => "exact",
        { Status: ParityStatus.Agree } => $"agree {p.WorstRelative:0.0e+0}",
        { Status: ParityStatus.Disagree } => "[red]DISAGREE[/]",
        { Status: ParityStatus.KnownDivergence } => "[yellow]known divergence[/]",
        _ => "no counterpart",
    };
}
