using GradOracle.Cases;
using GradOracle.Verification;

namespace GradOracle.Tests.Verification;

/// <summary>What a verify run concludes as a whole: each case on its own, nothing-tested as an error, and a table that drops nothing.</summary>
public class VerdictTests
{
    private static readonly CaseStore Cases = CaseStore.FindFromCheckout(TestContext.CurrentContext.TestDirectory);

    private static VerifyOptions Options(string command, int random = 200, bool reference = true) =>
        new() { Command = command, Cases = reference ? Cases : null, Seed = 31, RandomCases = random, Timeout = TimeSpan.FromSeconds(20) };

    /// <summary>One argument of a child process's command line (.NET splits it at spaces outside double quotes).</summary>
    private static string Arg(string s) => "\"" + s.Replace("\"", "\\\"") + "\"";

    private static (CaseStatus, string, string) Verdict(CaseResult c) => (c.Status, c.Summary, string.Join("; ", c.Conventions.Select(v => v.Text)));

    [Test]
    public void A_cases_verdict_is_the_same_alone_in_the_full_run_under_a_filter_and_in_explain()
    {
        Tools.RequireNumPy();
        // Ties to the last, NaN to the first NaN: cases that pass as conventions, cases that match, and planted failures.
        var command = Tools.Conventions("--ties last --nan first --relu-at-zero 1");
        var full = Verifier.Run(Options(command));
        var chosen = full.Cases.Where(c => c.Conventions.Length > 0).Take(3)
            .Concat(full.Cases.Where(c => c.Status == CaseStatus.Pass && c.Conventions.Length == 0).Take(2)).ToList();
        Assert.That(chosen, Has.Count.EqualTo(5));
        foreach (var c in chosen)
        {
            var alone = Verifier.Run(Options(command) with { Only = c.Id }).Cases.Single();
            Assert.That(Verdict(alone), Is.EqualTo(Verdict(c)), c.Id);
            var filtered = Verifier.Run(Options(command) with { Filter = c.Op }).Cases.Single(x => x.Id == c.Id);
            Assert.That(Verdict(filtered), Is.EqualTo(Verdict(c)), c.Id);
            var args = $"\"{Tools.CliDll}\" explain --impl {Arg(command)} --seed 31 --random 200 {c.Id}";
            int exit = Tools.Run("dotnet", args, out var output);
            Assert.That(exit, Is.Zero, output);
            Assert.That(output, Does.StartWith($"{c.Id} ({c.Op} {c.Attributes}): PASS: {c.Summary}"));
        }
    }

    [Test]
    public void A_hello_with_an_op_name_gradoracle_does_not_know_is_an_error_with_the_nearest_name()
    {
        var r = Verifier.Run(Options(Tools.Misbehave("misspelled"), random: 40, reference: false));
        Assert.That(r.Errors, Has.Some.StartsWith("the hello lists \"maxpool2d\", which is not an op GradOracle knows: did you mean \"max_pool2d\"?"));
        Assert.That(r.Count(CaseStatus.Pass), Is.GreaterThan(0), "the ops it names rightly still run");
        Assert.That(r.ExitCode, Is.EqualTo(2));
    }

    [Test]
    public void A_run_that_tests_nothing_is_an_error()
    {
        var none = Verifier.Run(Options(Tools.Misbehave("noops"), random: 20, reference: false));
        Assert.That(none.Problems, Has.Some.EqualTo("the hello lists no ops: nothing can be tested").And.Some.EqualTo("nothing was tested: all 20 case(s) were skipped"));
        Assert.That(none.ExitCode, Is.EqualTo(2));
        var filtered = Assert.Throws<ParameterException>(() => Verifier.Run(Options(Tools.Serve) with { Filter = "no_such_case" }));
        Assert.That(filtered!.Message, Does.StartWith("--filter = no_such_case: matches none of the run's"));
    }

    [Test]
    public void An_unsupported_answer_carries_its_reason_into_the_report()
    {
        var r = Verifier.Run(Options(Tools.Misbehave("unsupported"), random: 60, reference: false));
        Assert.That(r.Cases.Where(c => c.Op == "sigmoid").Select(c => (c.Status, c.Summary)),
            Has.All.EqualTo((CaseStatus.Skipped, "the implementation answered unsupported: sigmoid needs float16 inputs")));
        Assert.That(r.ExitCode, Is.Zero);
    }

    [Test]
    public void The_table_lists_every_failure_first_summarises_skips_by_reason_and_its_rows_add_up()
    {
        // Random cases without reference cases: sigmoid's all error, relu's pass, the rest are not in the hello.
        int exit = Tools.Run("dotnet", $"\"{Tools.CliDll}\" verify --impl {Arg(Tools.Misbehave("garbage"))} --no-reference --seed 31 --random 2000", out var output);
        Assert.That(exit, Is.EqualTo(1), output);
        var lines = output.Split('\n');
        bool Row(string l) => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\s*random/\S+\s+\S+\s+(ERROR|FAIL)\s");
        var errors = lines.Where(Row).ToList();
        var closing = System.Text.RegularExpressions.Regex.Match(output, @"(\d+) passed, (\d+) failed, (\d+) errors, (\d+) skipped");
        Assert.That(closing.Success, output);
        int passed = int.Parse(closing.Groups[1].Value), failed = int.Parse(closing.Groups[2].Value), errored = int.Parse(closing.Groups[3].Value), skipped = int.Parse(closing.Groups[4].Value);
        Assert.That(errors, Has.Count.EqualTo(errored + failed), "every error and failure has its own row");
        int firstPassRow = Array.FindIndex(lines, l => l.Contains(" pass "));
        Assert.That(Array.FindLastIndex(lines, Row), Is.LessThan(firstPassRow), "failures come first");
        var grouped = lines.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"^\s*(\d+) case\(s\)\s.*\s(pass|skipped)\s")).Where(m => m.Success).ToList();
        Assert.That(grouped.Where(m => m.Groups[2].Value == "skipped").Sum(m => int.Parse(m.Groups[1].Value)), Is.EqualTo(skipped));
        Assert.That(grouped.Where(m => m.Groups[2].Value == "pass").Sum(m => int.Parse(m.Groups[1].Value)), Is.EqualTo(passed));
        Assert.That(output, Does.Contain("op not among the implementation's ops (its hello)"));
        Assert.That(errored, Is.GreaterThan(20), "more errors than the details printed, all of them in the table");
    }

    [Test]
    public void The_command_exits_two_when_nothing_was_tested()
    {
        int exit = Tools.Run("dotnet", $"\"{Tools.CliDll}\" verify --impl {Arg(Tools.Misbehave("misspelled"))} --no-reference --seed 31 --random 0", out var output);
        Assert.That(exit, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("error: the hello lists \"maxpool2d\"").And.Contain("error: nothing was tested: no case was run"));
        exit = Tools.Run("dotnet", $"\"{Tools.CliDll}\" verify --impl {Arg(Tools.Misbehave("noops"))} --no-reference --filter nothing-matches", out output);
        Assert.That(exit, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("--filter = nothing-matches: matches none of the run's 100 case ids"));
    }
}
