using GradOracle.Tests.Verification;
using GradOracle.Verification;

namespace GradOracle.Tests.Adapters;

/// <summary>The verify run and the verdicts every adapter's end-to-end tests share.</summary>
internal static class AdapterRuns
{
    public static VerifyReport Verify(string command, int seed = 3, int random = 150) => Verifier.Run(new VerifyOptions
    {
        Command = command, Cases = GradOracle.Cases.CaseStore.FindFromCheckout(TestContext.CurrentContext.TestDirectory),
        Seed = seed, RandomCases = random, Timeout = TimeSpan.FromSeconds(60),
    });

    /// <summary>Every case passes or is skipped, and the passes are exactly <paramref name="ops"/>'.</summary>
    public static void AssertPasses(VerifyReport r, params string[] ops)
    {
        Assert.That(r.ExitCode, Is.Zero, string.Join("\n", r.Cases.Where(c => c.Status is CaseStatus.Fail or CaseStatus.Error).Take(3).Select(ReportFormats.Detail)));
        Assert.That(r.Cases.Where(c => c.Status == CaseStatus.Pass).Select(c => c.Op).Distinct(), Is.EquivalentTo(ops));
        Assert.That(r.Restarts, Is.Zero, "every reply was well formed: nothing printed reached stdout");
    }

    /// <summary>The run fails, only in <paramref name="op"/>, and the diagnosis names <paramref name="bug"/>.</summary>
    public static void AssertFailsNamed(VerifyReport r, string op, string bug)
    {
        Assert.That(r.ExitCode, Is.EqualTo(1));
        var failing = r.Cases.Where(c => c.Status == CaseStatus.Fail).ToList();
        Assert.That(failing.Select(c => c.Op).Distinct(), Is.EqualTo(new[] { op }));
        Assert.That(failing.SelectMany(c => c.Diagnosis), Has.Some.Contains(bug));
    }

    public const string DividedWeight = "grads.weight: weight gradient divided by the batch size";
}
