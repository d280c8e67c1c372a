using GradOracle.Tests.Verification;
using GradOracle.Verification;

namespace GradOracle.Tests.Adapters;

/// <summary>src/adapters/cpp/gradoracle_adapter.hpp end to end: examples/cpp/layers.cpp built with g++, right and with a planted bug.</summary>
public class CppAdapterTests : TempDirectoryFixture
{
    private string Build(string name, string defines = "")
    {
        Tools.Require(Tools.Run("g++", "--version", out _) == 0, "g++");
        Tools.Require(File.Exists("/usr/include/nlohmann/json.hpp"), "Debian's nlohmann-json3-dev");
        var binary = Path.Combine(Dir, name);
        var source = Path.Combine(Tools.Root, "examples", "cpp", "layers.cpp");
        var include = Path.Combine(Tools.Root, "src", "adapters", "cpp");
        var start = new System.Diagnostics.ProcessStartInfo("g++") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-std=c++17", "-O1", "-Wall", "-Wextra", "-Werror", "-I", include, source, "-o", binary }.Concat(defines.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
            start.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(start)!;
        var log = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        Assert.That(p.ExitCode, Is.Zero, log.Result);
        return binary;
    }

    [Test]
    public void The_cpp_example_passes_its_ops_and_its_print_reaches_stderr_not_the_replies()
    {
        var r = AdapterRuns.Verify(Tools.Quote(Build("layers")));
        AdapterRuns.AssertPasses(r, "relu", "linear");
        Assert.That(r.Stderr, Does.Contain("this print goes to stderr"));
    }

    [Test]
    public void The_cpp_example_with_its_planted_bug_fails_and_is_named()
    {
        AdapterRuns.AssertFailsNamed(AdapterRuns.Verify(Tools.Quote(Build("layers-bug", "-DPLANTED_BUG"))), "linear", AdapterRuns.DividedWeight);
    }
}
