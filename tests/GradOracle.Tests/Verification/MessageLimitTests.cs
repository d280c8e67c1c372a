using GradOracle.Verification;
using NUnit.Framework;

namespace GradOracle.Tests.Verification;

/// <summary>What the limits and an interrupt do to a run's verdict: never blamed on the implementation, never lost in a merge.</summary>
[TestFixture]
public class MessageLimitTests
{
    [Test, NonParallelizable]
    public void A_case_whose_message_passes_the_element_limit_is_not_sent_and_never_an_error()
    {
        var saved = Limits.Current;
        try
        {
            Limits.Current = new Limits { MaxElements = 40 };
            var r = Verifier.Run(new VerifyOptions { Command = Tools.Serve, Seed = 3, RandomCases = 40 });
            Assert.That(r.Cases.Where(c => c.Status is CaseStatus.Fail or CaseStatus.Error).Select(c => c.Summary), Is.Empty);
            Assert.That(r.Cases.Where(c => c.Status == CaseStatus.Skipped).Select(c => c.Summary),
                Has.Some.StartsWith("not sent: its request holds").And.Some.Contains("--max-elements 40"));
            Assert.That(r.Count(CaseStatus.Pass), Is.GreaterThan(0));
        }
        finally { Limits.Current = saved; }
    }

    [Test]
    public void A_merge_is_interrupted_when_any_shard_was_whatever_the_order()
    {
        var whole = Verifier.Run(new VerifyOptions { Command = Tools.Serve, Seed = 2, RandomCases = 4, Shard = new Shard(1, 2) });
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var cut = Verifier.Run(new VerifyOptions { Command = Tools.Serve, Seed = 2, RandomCases = 4, Shard = new Shard(2, 2), Interrupt = cancelled.Token });
        Assert.That(cut.Interrupted, Is.True);
        foreach (var order in new[] { new[] { whole, cut }, [cut, whole] })
        {
            var merged = ReportFormats.Merge(order);
            Assert.That(merged.Interrupted, Is.True);
            Assert.That(merged.Problems, Has.Some.StartsWith("the run was interrupted: 2 case(s) were not run"));
            Assert.That(merged.ExitCode, Is.EqualTo(2));
        }
    }
}
