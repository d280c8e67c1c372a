using GradOracle.Protocol;
using GradOracle.Verification;
using NUnit.Framework;

namespace GradOracle.Tests.Verification;

/// <summary>
/// Implementations that misbehave anywhere in a case, its first answer right: each failure reaches that case's
/// verdict as an error in words, the other cases are judged, and the counts add up.
/// </summary>
[TestFixture]
public class HostileImplementationTests
{
    private static VerifyOptions Options(string command, int random = 120, double timeout = 5) =>
        new() { Command = command, Cases = null, Seed = 5, RandomCases = random, Timeout = TimeSpan.FromSeconds(timeout) };

    private static List<CaseResult> Tested(VerifyReport r, string op) => r.Cases.Where(c => c.Op == op).ToList();

    private static void CountsAddUp(VerifyReport r) =>
        Assert.That(Enum.GetValues<CaseStatus>().Sum(r.Count), Is.EqualTo(r.Cases.Length));

    [TestCase("hang-fd", "timeout: no response within")]
    [TestCase("dupid-fd", "wrong id: response carries id")]
    [TestCase("reorder-fd", "wrong id: response carries id")]
    [TestCase("shape-fd", "answered an output of shape")]
    [TestCase("error-fd", "the implementation reported an error: out of memory (simulated)")]
    public void A_failure_amid_the_finite_difference_passes_is_that_case_s_error_never_a_pass(string mode, string reason)
    {
        var r = Verifier.Run(Options(Tools.Hostile(mode), random: 120, timeout: mode == "hang-fd" ? 1 : 5));
        var probed = r.Cases.Where(c => c.Op is "relu" or "sigmoid").ToList();
        Assert.That(probed, Is.Not.Empty);
        Assert.That(probed.Select(c => c.Status), Has.All.EqualTo(CaseStatus.Error), string.Join("\n", probed.Select(c => $"{c.Id}: {c.Status} {c.Summary}")));
        Assert.That(probed.Select(c => c.Summary), Has.All.Contains("during the finite-difference check of its own forward").And.All.Contains(reason));
        Assert.That(r.ExitCode, Is.EqualTo(1));
        CountsAddUp(r);
    }

    [Test]
    public void A_crash_on_every_seventh_request_errs_the_cases_it_hits_and_passes_none_of_them()
    {
        var r = Verifier.Run(Options(Tools.Hostile("every7th"), random: 120));
        var probed = r.Cases.Where(c => c.Op is "relu" or "sigmoid").ToList();
        Assert.That(probed.Count(c => c.Status == CaseStatus.Error), Is.GreaterThan(0));
        Assert.That(probed.Where(c => c.Status == CaseStatus.Error).Select(c => c.Summary), Has.All.Contains("crashed"));
        // Every request of a passing case was answered: a case whose probing crashed cannot pass.
        Assert.That(probed.Where(c => c.Status == CaseStatus.Pass).SelectMany(c => c.Notes), Has.None.Contains("not run"));
        Assert.That(r.ExitCode, Is.EqualTo(1));
        CountsAddUp(r);
    }

    [Test]
    public void A_reply_of_a_trillion_elements_is_refused_unread_and_the_run_reports_every_case()
    {
        var r = Verifier.Run(Options(Tools.Hostile("hugeshape"), random: 120));
        var probed = r.Cases.Where(c => c.Op is "relu" or "sigmoid").ToList();
        Assert.That(probed, Is.Not.Empty);
        Assert.That(probed.Select(c => c.Status), Has.All.EqualTo(CaseStatus.Error));
        Assert.That(probed[0].Summary, Does.Contain("garbage").And.Contain("1,000,000,000,000 elements").And.Contain("--max-elements"));
        CountsAddUp(r);
    }

    [TestCase("hello-protocol-string", "protocol: expected an integer, found a string")]
    [TestCase("hello-ops-numbers", "ops[0]: expected a string, found a number")]
    public void A_malformed_hello_is_refused_with_the_field_that_is_wrong(string mode, string message)
    {
        var e = Assert.Throws<ImplementationUnavailableException>(() => Verifier.Run(Options(Tools.Hostile(mode))));
        Assert.That(e!.Message, Does.Contain(message));
    }

    [Test]
    public void A_budget_skips_the_cases_it_leaves_no_time_for_and_says_so()
    {
        var o = Options(Tools.Hostile("slow", "--delay 0.2"), random: 120) with { Budget = TimeSpan.FromSeconds(2) };
        var r = Verifier.Run(o);
        var skipped = r.Cases.Where(c => c.Summary.StartsWith("not run: the --budget of 2 s was spent")).ToList();
        Assert.That(skipped, Is.Not.Empty);
        Assert.That(skipped.Select(c => c.Status), Has.All.EqualTo(CaseStatus.Skipped));
        Assert.That(r.Cases.Length, Is.EqualTo(120), "no case is lost from the report");
        Assert.That(r.Cases.Where(c => c.Status is CaseStatus.Fail or CaseStatus.Error), Is.Empty);
    }

    [Test]
    public void Sampled_and_projected_finite_differences_say_what_they_checked_and_none_checks_nothing()
    {
        var sampled = Verifier.Run(Options(Tools.Hostile("correct"), random: 120) with { FiniteDifferences = FiniteDifferenceMode.Sampled });
        var notes = sampled.Cases.Where(c => c.Op is "relu" or "sigmoid").SelectMany(c => c.Notes).Where(n => n.StartsWith("backward agrees")).ToList();
        Assert.That(notes, Is.Not.Empty);
        // Small inputs are checked whole (no sample said); larger ones name the sample against the whole.
        var samples = notes.Select(n => System.Text.RegularExpressions.Regex.Match(n, @"a sample of (\d+) of the (\d+) elements")).Where(m => m.Success).ToList();
        Assert.That(samples, Is.Not.Empty);
        Assert.That(samples.Select(m => int.Parse(m.Groups[1].Value) < int.Parse(m.Groups[2].Value)), Has.All.True);
        Assert.That(notes.Where(n => n.Contains("a sample of")), Has.All.Contains("per input 16 seeded random elements, the first and the last, and the corner blocks (up to 3 wide) of the first and last planes"));
        var projected = Verifier.Run(Options(Tools.Hostile("correct"), random: 120) with { FiniteDifferences = FiniteDifferenceMode.Projection });
        var screened = projected.Cases.Where(c => c.Op is "relu" or "sigmoid" && c.Situations.IsEmpty).SelectMany(c => c.Notes).Where(n => n.StartsWith("backward agrees")).ToList();
        Assert.That(screened, Is.Not.Empty);
        Assert.That(screened, Has.All.Contains("along a random direction").And.All.Contains("(a projection screen; --fd all checks every element)"));
        var none = Verifier.Run(Options(Tools.Hostile("correct"), random: 120) with { FiniteDifferences = FiniteDifferenceMode.None });
        Assert.That(none.Cases.SelectMany(c => c.Notes), Has.None.StartsWith("backward agrees"));
        Assert.That(none.Cases.Where(c => c.Op is "relu" or "sigmoid").Select(c => c.Status), Has.All.EqualTo(CaseStatus.Pass));
    }
}
