using System.CommandLine;
using GradOracle.Checking;
using Spectre.Console;

namespace GradOracle.Cli;

/// <summary>`gradoracle check`: every built-in layer through finite differences and its invariants.</summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var filter = new Option<string?>("--filter") { Description = "Only cases whose layer name or exercised feature contains this text (e.g. max_pool, ties, rank-3)." };
        var seed = new Option<int>("--seed") { Description = "Seed of the random upstream gradients.", DefaultValueFactory = _ => 1 };
        var details = new Option<bool>("--details") { Description = "Print the worst elements of every case, not only of failures." };
        var command = new Command("check", "Check every built-in layer's analytic gradient against finite differences and its invariants.")
        {
            filter, seed, details,
        };
        command.SetAction(parse => Run(parse.GetValue(filter), parse.GetValue(seed), parse.GetValue(details)));
        return command;
    }

    private static int Run(string? filter, int seed, bool details)
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

        var outcomes = cases.Select(c => CheckOutcome.Run(c, seed)).ToList();
        var table = new Table().Border(TableBorder.Simple)
            .AddColumn("layer").AddColumn("configuration").AddColumn(new TableColumn("elements").RightAligned())
            .AddColumn(new TableColumn("kinks").RightAligned()).AddColumn(new TableColumn("worst error").RightAligned())
            .AddColumn("invariants").AddColumn("verdict");
        foreach (var o in outcomes)
        {
            var g = o.Gradients;
            table.AddRow(
                Markup.Escape(o.Case.Op.Name),
                Markup.Escape(o.Case.Configuration),
                g.Checked.ToString(),
                g.Kinks.ToString(),
                g.WorstAbsoluteError.ToString("0.0e+0"),
                o.Invariants.Holds ? $"{o.Invariants.Checked.Length} hold" : $"[red]{o.Invariants.Violations.Length} broken[/]",
                o.Passed ? "[green]pass[/]" : "[red]FAIL[/]");
        }
        console.Write(table);

        foreach (var o in outcomes.Where(o => !o.Passed || details))
        {
            console.WriteLine();
            console.WriteLine(o.Gradients.Describe());
            if (!o.Invariants.Holds || details) console.WriteLine(o.Invariants.ToString());
        }
        int failed = outcomes.Count(o => !o.Passed);
        int elements = outcomes.Sum(o => o.Gradients.Checked), kinks = outcomes.Sum(o => o.Gradients.Kinks);
        console.WriteLine();
        console.MarkupLine(failed == 0
            ? $"[green]all {outcomes.Count} cases pass[/] ({elements} gradient elements checked, {kinks} kinks)"
            : $"[red]{failed} of {outcomes.Count} cases fail[/]");
        return failed == 0 ? 0 : 1;
    }
}
