using System.Diagnostics;
using GradOracle.Tests.Verification;
using NUnit.Framework;

namespace GradOracle.Tests.Cli;

[TestFixture]
public class InterruptTests
{
    [Test]
    public void Ctrl_c_ends_verify_soon_with_the_report_of_what_ran_and_what_did_not()
    {
        Tools.RequireSigint();
        using var cli = Process.Start(new ProcessStartInfo("dotnet",
            ["exec", Tools.CliDll, "verify", "--impl", Tools.Hostile("slow", "--delay 0.3"), "--no-reference", "--seed", "5", "--random", "120"])
        { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stdout = cli.StandardOutput.ReadToEndAsync();
        var stderr = cli.StandardError.ReadToEndAsync();
        try
        {
            Thread.Sleep(4000); // into the cases: the slow implementation answers three requests a second
            using (var kill = Process.Start("kill", ["-INT", cli.Id.ToString()])) kill.WaitForExit();
            Assert.That(cli.WaitForExit(20_000), Is.True, "verify ends soon after the interrupt");
            var output = stdout.Result + stderr.Result;
            Assert.That(cli.ExitCode, Is.EqualTo(2), output);
            Assert.That(output, Does.Contain("the run was interrupted:").And.Contain("case(s) were not run"));
            Assert.That(output, Does.Match(@"\d+ passed, 0 failed, 0 errors, \d+ skipped"));
            Assert.That(output, Does.Not.Contain("restarted"), "an interrupted implementation is not restarted");
        }
        finally { if (!cli.HasExited) cli.Kill(entireProcessTree: true); }
    }
}
