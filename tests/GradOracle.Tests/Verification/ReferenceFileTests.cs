using GradOracle.Cases;
using GradOracle.Verification;
using NUnit.Framework;

namespace GradOracle.Tests.Verification;

/// <summary>verify with reference cases that cannot be read: each bad file is a run error naming it, and the rest still run.</summary>
[TestFixture]
public class ReferenceFileTests
{
    [Test]
    public void A_corrupt_reference_file_is_a_run_error_naming_it_and_the_other_cases_run()
    {
        var dir = Directory.CreateTempSubdirectory("gradoracle-bad-cases-").FullName;
        try
        {
            var good = CaseStore.FindFromCheckout().VerifiedFiles().First(f => Path.GetFileName(Path.GetDirectoryName(f)) == "relu");
            Directory.CreateDirectory(Path.Combine(dir, "relu"));
            File.Copy(good, Path.Combine(dir, "relu", Path.GetFileName(good)));
            File.WriteAllText(Path.Combine(dir, "relu", "broken.json"), """{"format": 1, "op": "relu", "inputs": {"input": {"shape": [100000, 100000], "data": []}}}""");
            File.WriteAllText(Path.Combine(dir, "relu", "truncated.json"), """{"format": 1, "op": """);
            var r = Verifier.Run(new VerifyOptions { Command = Tools.Serve, Cases = new CaseStore(dir), RandomCases = 0 });
            Assert.That(r.Cases.Select(c => c.Status), Is.EqualTo(new[] { CaseStatus.Pass }));
            Assert.That(r.Errors, Has.Length.EqualTo(2));
            Assert.That(r.Errors, Has.Some.Contains("broken.json could not be read, so it was not run"));
            Assert.That(r.Errors, Has.Some.Contains("truncated.json could not be read"));
            Assert.That(r.ExitCode, Is.EqualTo(2));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Test]
    public void A_cases_directory_that_does_not_exist_is_refused_not_run_empty()
    {
        var e = Assert.Throws<ParameterException>(() => Verifier.Run(new VerifyOptions { Command = Tools.Serve, Cases = new CaseStore("/nonexistent-cases"), RandomCases = 1 }));
        Assert.That(e!.Message, Does.StartWith("--cases = /nonexistent-cases: is not a directory"));
    }
}
