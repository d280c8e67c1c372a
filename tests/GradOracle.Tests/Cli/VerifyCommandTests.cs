using System.Diagnostics;
using GradOracle.Tests.Verification;

namespace GradOracle.Tests.Cli;

/// <summary>`gradoracle verify` as a CI job runs it: from a folder holding gradoracle.json, with no arguments.</summary>
public class VerifyCommandTests : TempDirectoryFixture
{
    private int Verify(string args, out string output, int? columns = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Dir };
        if (columns is not null) start.Environment["COLUMNS"] = columns.ToString();
        foreach (var a in new[] { Tools.CliDll, "verify" }.Concat(args.Split(' ', StringSplitOptions.RemoveEmptyEntries))) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(300_000)) { p.Kill(true); Assert.Fail("verify hung"); }
        output = stdout.Result + stderr.Result;
        return p.ExitCode;
    }

    private void Config(string knownFailures) => File.WriteAllText(Path.Combine(Dir, "gradoracle.json"), $$"""
        {
          "impl": "/usr/bin/python3 {{Path.Combine(Tools.Root, "examples", "quickstart", "layers.py")}} --bug",
          "cases": "{{Path.Combine(Tools.Root, "reference-cases")}}",
          "seed": 3, "random": 60,
          "known_failures": [{{knownFailures}}]
        }
        """);

    [Test]
    public void With_no_arguments_verify_runs_the_config_and_its_listed_failures_do_not_fail_the_run()
    {
        Tools.RequireNumPy();
        Config("""{"case": "linear/*", "reason": "weight gradient averaged"}, {"case": "random/*", "reason": "the same"}""");
        Assert.That(Verify("", out var output), Is.Zero, output);
        Assert.That(output, Does.Match(@"\d+ passed, 0 failed, 0 errors, \d+ skipped, \d+ known failures \(seed 3,"));
        Assert.That(output, Does.Contain("is listed as a known failure (the same) but passes"));
    }

    [Test]
    public void Strict_from_the_command_line_fails_a_listed_case_that_passes()
    {
        Tools.RequireNumPy();
        Config("""{"case": "linear/*", "reason": "weight gradient averaged"}, {"case": "random/*", "reason": "the same"}""");
        Assert.That(Verify("--strict", out var output), Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("passes, but is listed as a known failure (the same)"));
    }

    [Test]
    public void An_unlisted_failure_still_fails_the_run_and_flags_override_the_config()
    {
        Tools.RequireNumPy();
        Config("""{"case": "linear/*", "reason": "weight gradient averaged"}""");
        Assert.That(Verify("--seed 4 --random 100", out var output), Is.EqualTo(1), output); // its random linear cases fail unlisted
        Assert.That(output, Does.Contain("(seed 4, shard 1/1)"));
    }

    [Test]
    public void Without_impl_or_a_config_verify_says_what_is_missing()
    {
        Assert.That(Verify("", out var output), Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("--impl = (none): is required").And.Contain("gradoracle.json"));
        File.WriteAllText(Path.Combine(Dir, "gradoracle.json"), """{"known_failures": [{"case": "x"}]}""");
        Assert.That(Verify("--impl true", out output), Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("known_failures[0].reason = null: must say why"));
    }

    [TestCase(80)]
    [TestCase(200)]
    public void The_verify_table_fits_the_width_and_keeps_whole_case_ids(int columns)
    {
        Tools.RequireNumPy();
        Config("");
        Assert.That(Verify("", out var output, columns), Is.EqualTo(1), output);
        var table = output[..output.IndexOf("\n\nlinear/", StringComparison.Ordinal)].Split('\n');
        Assert.That(table.Max(l => l.TrimEnd().Length), Is.LessThanOrEqualTo(columns), output);
        Assert.That(table, Has.Some.Match(@"^\s+linear/no-bias-leading-dims-59da9828\s+(linear\s+)?FAIL\s"), "an id is never wrapped or cut");
        Assert.That(table, Has.Some.Match(columns < 120 ? @"^\s+random/3/\d+\s+FAIL\s+linear: grads\.weight" : @"^\s+random/3/\d+\s+linear\s+FAIL\s+grads\.weight"),
            "narrow, the op joins the detail where the id does not name it");
    }
}
