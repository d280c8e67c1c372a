using GradOracle.Tests.Verification;
using NUnit.Framework;

namespace GradOracle.Tests.Cli;

/// <summary>Every option value that breaks a rule is a usage error (exit 2) naming the option, before any case runs.</summary>
[TestFixture]
public class OptionRulesTests
{
    private static int Verify(string args, out string output) =>
        Tools.Run("dotnet", $"\"{Tools.CliDll}\" verify --impl \"{Tools.Serve}\" --no-reference {(args.Contains("--random") ? "" : "--random 1 ")}{args}", out output);

    [TestCase("--timeout -1", "--timeout -1: must be a finite number of seconds above 0")]
    [TestCase("--timeout NaN", "--timeout NaN: must be a finite number of seconds above 0")]
    [TestCase("--timeout 1e999", "--timeout 1e999: must be a finite number of seconds above 0")]
    [TestCase("--timeout 0", "--timeout 0: must be a finite number of seconds above 0")]
    [TestCase("--budget 0", "--budget 0: must be a finite number of seconds above 0")]
    [TestCase("--random=-5", "--random -5: must be between 0 and 1000000")]
    [TestCase("--junit /nonexistent-dir/report.xml", "--junit /nonexistent-dir/report.xml: names a file in /nonexistent-dir, which does not exist")]
    [TestCase("--junit /tmp", "--junit /tmp: is a directory")]
    [TestCase("--report /nonexistent-dir/r.html", "names a file in /nonexistent-dir")]
    [TestCase("--record /nonexistent-dir/answers", "names a directory in /nonexistent-dir, which does not exist")]
    [TestCase("--against /nonexistent-dir", "--against /nonexistent-dir: is not an existing directory")]
    [TestCase("--cases /nonexistent-dir", "--cases /nonexistent-dir: is not an existing directory")]
    [TestCase("--fd some", "--fd")]
    [TestCase("--max-elements 0", "--max-elements 0: must be at least 1")]
    public void A_value_that_breaks_a_rule_is_exit_2_with_the_option_and_the_rule(string args, string message)
    {
        int exit = Verify(args, out var output);
        Assert.That(exit, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain(message));
        Assert.That(output, Does.Not.Contain("   at "), "no stack trace");
    }

    [Test]
    public void An_empty_implementation_command_is_a_usage_error()
    {
        int exit = Tools.Run("dotnet", $"\"{Tools.CliDll}\" verify --impl \"\" --no-reference --random 1", out var output);
        Assert.That(exit, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("--impl : must not be empty"));
    }

    [Test]
    public void The_report_is_written_after_it_is_printed_and_its_files_are_complete()
    {
        var dir = Directory.CreateTempSubdirectory("gradoracle-junit-").FullName;
        try
        {
            var junit = Path.Combine(dir, "r.xml");
            int exit = Verify($"--junit \"{junit}\" --random 3 --seed 2", out var output);
            Assert.That(exit, Is.EqualTo(0), output);
            Assert.That(File.ReadAllText(junit), Does.Contain("<testsuite").And.Contain("</testsuites>"));
            Assert.That(Directory.GetFiles(dir), Has.Length.EqualTo(1), "no temporary file left behind");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
