using GradOracle.Verification;

namespace GradOracle.Tests.Verification;

/// <summary>--repeat: an implementation that sums in a different order each call is caught, named, and let through by nondet_tol.</summary>
public class RepetitionTests
{
    private static string Nondeterministic =>
        $"GRADORACLE_ADAPTER_DIR={Tools.Quote(Path.Combine(Tools.Root, "src", "adapters", "python"))} /usr/bin/python3 " +
        Tools.Quote(Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "nondeterministic.py"));

    private static VerifyReport Run(int repeat, double tolerance = 0) => Verifier.Run(new VerifyOptions
    {
        Command = Nondeterministic, Seed = 2, RandomCases = 400, Filter = "random", Repeat = repeat, NondeterminismTolerance = tolerance,
        Timeout = TimeSpan.FromSeconds(20),
    });

    [Test]
    public void Answers_that_differ_between_calls_fail_under_repeat_and_say_where()
    {
        Tools.RequireNumPy();
        Assert.That(Run(1).ExitCode, Is.Zero, "each answer alone is right to rounding");
        var repeated = Run(4);
        var varying = repeated.Cases.Where(c => c.Status == CaseStatus.Fail).ToList();
        Assert.That(varying, Is.Not.Empty);
        Assert.That(varying.Select(c => c.Summary), Has.All.Match(@"^nondeterministic: answer \d of 4 to the same request differs from the first at grads\.weight\[\d+, \d+\]: .* then .* \(difference .*, nondet_tol 0\)$"));
        Assert.That(repeated.Cases.Count(c => c.Status == CaseStatus.Pass), Is.GreaterThan(0), "a batch of one or two sums the same in any order");
    }

    [Test]
    public void A_nondet_tol_above_the_rounding_lets_the_differences_pass()
    {
        Tools.RequireNumPy();
        Assert.That(Run(4, tolerance: 1e-9).ExitCode, Is.Zero);
    }
}
