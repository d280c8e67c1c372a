using GradOracle.Checking;
using GradOracle.Tests.Verification;

namespace GradOracle.Tests.Cli;

/// <summary>`gradoracle check`, run as a child process.</summary>
public class CheckCommandTests
{
    [Test]
    public void Check_fast_screens_every_matching_case_in_five_forward_passes_each_and_prints_the_table()
    {
        // Average pooling is smooth: every case is one projection, the base pass and the stencil's four.
        var cases = CheckSuite.All().Where(c => c.Op.Name.Contains("avg_pool")).ToList();
        int elements = cases.Sum(c => c.Op.DifferentiableInputs.Sum(n => c.Inputs[n].Count));

        int exit = Tools.Run("dotnet", $"\"{Tools.CliDll}\" check --fast --no-torch --filter avg_pool", out var output);

        Assert.That(exit, Is.Zero, output);
        Assert.That(output, Does.Contain("screened").And.Contain("forward passes").And.Contain("invariants"));
        Assert.That(output.Split('\n').Count(l => l.TrimStart().StartsWith("avg_pool") || l.Contains("_avg_pool")), Is.EqualTo(cases.Count));
        Assert.That(output, Does.Contain($"all {cases.Count} cases pass the screen ({elements} gradient elements screened in {5 * cases.Count} forward passes, 0 kinks localised)"));
    }

    [TestCase(80)]
    [TestCase(200)]
    public void The_check_table_fits_the_width_columns_gives_it_piped(int columns)
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Tools.Root };
        foreach (var a in new[] { Tools.CliDll, "check", "--no-torch", "--filter", "ties" }) start.ArgumentList.Add(a);
        start.Environment["COLUMNS"] = columns.ToString();
        using var p = System.Diagnostics.Process.Start(start)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.That(p.ExitCode, Is.Zero, output);
        var lines = output.Split('\n');
        Assert.That(lines.Max(l => l.TrimEnd().Length), Is.LessThanOrEqualTo(columns), output);
        Assert.That(lines.Any(l => l.Contains(columns < 140 ? "layer, configuration" : "configuration")), output);
        Assert.That(output, Does.Contain("tie_policy='first'"), "the configuration wraps; it is not cut");
    }
}
