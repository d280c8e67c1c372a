using GradOracle.Layers;
using System.CommandLine;
using GradOracle.Checking;
using GradOracle.Tensors;
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
        var fast = new Option<bool>("--fast")
        {
            Description = "Screen each case with one random projection instead of every element (probabilistic; a failure is bisected down to the wrong elements).",
        };
        var command = new Command("check", "Check every built-in layer's analytic gradient against finite differences, its invariants and libtorch.")
        {
            filter, seed, details, noTorch, fast,
        };
        command.SetAction(parse => Run(parse.GetValue(filter), parse.GetValue(seed), parse.GetValue(details), parse.GetValue(noTorch), parse.GetValue(fast)));
        return command;
    }

    /// <summary>One case's outcome and, when libtorch is used, its parity.</summary>
    private sealed record Row(CheckOutcome Outcome, ParityResult? Parity)
    {
        public bool Passed => Outcome.Passed && Parity?.Passed != false;
    }

    private static Row RunCase(CheckCase c, int seed, bool fast, bool useTorch)
    {
        var o = CheckOutcome.Of(c, seed, screen: fast);
        return new Row(o, useTorch ? TorchParity.Compare(c.Op, c.Inputs, o.GradOutput) : null);
    }

    private static int Run(string? filter, int seed, bool details, bool noTorch, bool fast)
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

        // libtorch is loaded only when it is used: --no-torch never pays for it.
        var torch = noTorch ? null : TorchBridge.Availability;
        bool useTorch = torch?.IsAvailable == true;
        console.MarkupLine(Markup.Escape(torch is null ? "libtorch: skipped (--no-torch)" : torch.IsAvailable ? $"{torch.Message}; it answers the libtorch column" : torch.Message));

        var rows = cases.Select(c => RunCase(c, seed, fast, useTorch)).ToList();
        // --fast: the screen has no per-element worst error; its cost in forward passes takes that column.
        // Narrow (an 80-column terminal): the layer and its configuration share one column, the only one that wraps.
        bool narrow = console.Profile.Width < 140;
        var table = new Table().Border(TableBorder.Simple).AddColumn(narrow ? "layer, configuration" : "layer");
        if (!narrow) table.AddColumn("configuration");
        string[] headers = narrow ? [fast ? "screened" : "elems", "kinks", fast ? "passes" : "worst", "invar.", "torch", "verdict"]
            : [fast ? "screened" : "elements", "kinks", fast ? "forward passes" : "worst error", "invariants", "libtorch", "verdict"];
        for (int i = 0; i < headers.Length; i++)
        {
            var column = new TableColumn(headers[i]).NoWrap();
            if (i < 3) column.RightAligned();
            if (narrow) column.Padding(1, 0, 0, 0);
            table.AddColumn(column);
        }
        foreach (var r in rows)
        {
            var name = Markup.Escape(r.Outcome.Case.Op.Name);
            var configuration = Markup.Escape(r.Outcome.Case.Configuration);
            table.AddRow([.. narrow ? [$"{name} {configuration}"] : new[] { name, configuration },
                r.Outcome.Elements.ToString(),
                r.Outcome.Kinks.ToString(),
                r.Outcome.Gradients?.WorstAbsoluteError.ToString("0.0e+0") ?? r.Outcome.Screen!.ForwardPasses.ToString(),
                r.Outcome.Invariants.Holds ? $"{r.Outcome.Invariants.Checked.Length} hold" : $"[red]{r.Outcome.Invariants.Violations.Length} broken[/]",
                TorchCell(r.Parity),
                r.Passed ? "[green]pass[/]" : "[red]FAIL[/]"]);
        }
        console.Write(table);

        foreach (var r in rows.Where(r => !r.Passed || details))
        {
            console.WriteLine();
            console.WriteLine(r.Outcome.Describe());
            if (!r.Outcome.Invariants.Holds || details) console.WriteLine(r.Outcome.Invariants.ToString());
            if (r.Parity is { Passed: false }) console.WriteLine("libtorch: " + r.Parity);
        }
        int failed = rows.Count(r => !r.Passed);
        int agreed = rows.Count(r => r.Parity?.Status == ParityStatus.Agree);
        string work = fast
            ? $"{rows.Sum(r => r.Outcome.Elements)} gradient elements screened in {rows.Sum(r => r.Outcome.Screen!.ForwardPasses)} forward passes, {rows.Sum(r => r.Outcome.Kinks)} kinks localised"
            : $"{rows.Sum(r => r.Outcome.Elements)} gradient elements checked, {rows.Sum(r => r.Outcome.Kinks)} kinks";
        console.WriteLine();
        console.MarkupLine(failed == 0
            ? $"[green]all {rows.Count} cases pass{(fast ? " the screen" : "")}[/] ({work}" + (useTorch ? $", {agreed} cases agree with libtorch {torch!.Version})" : ")")
            : $"[red]{failed} of {rows.Count} cases fail[/]");
        return failed == 0 ? 0 : 1;
    }

    private static string TorchCell(ParityResult? p) => p switch
    {
        null => "-",
        { Status: ParityStatus.Agree } when p.Tensors.All(t => t.Exact) => "exact",
        { Status: ParityStatus.Agree } => $"agree {p.WorstRelative:0.0e+0}",
        { Status: ParityStatus.Disagree } => "[red]DISAGREE[/]",
        _ => "no counterpart",
    };
}
