using GradOracle.Cases;

namespace GradOracle.Tests.Verification;

/// <summary>Commands and requirements of the end-to-end tests.</summary>
internal static class Tools
{
    public static readonly string Root = Path.GetDirectoryName(CaseStore.FindFromCheckout(TestContext.CurrentContext.TestDirectory).Root)!;

    /// <summary>`gradoracle serve` from the build next to this test assembly's configuration.</summary>
    public static string Serve => $"dotnet {Quote(CliDll)} serve";

    /// <summary>The gradoracle CLI's assembly from the build next to this test assembly's configuration (run with `dotnet`).</summary>
    public static string CliDll
    {
        get
        {
            var config = new DirectoryInfo(TestContext.CurrentContext.TestDirectory).Parent!.Name; // Debug or Release
            var dll = Path.Combine(Root, "src", "GradOracle.Cli", "bin", config, "net10.0", "GradOracle.Cli.dll");
            if (!File.Exists(dll)) Assert.Fail($"{dll} is missing: build the solution (dotnet build GradOracle.sln)");
            return dll;
        }
    }

    public static string NumPy(string args = "") => $"/usr/bin/python3 {Quote(Path.Combine(Root, "examples", "numpy", "impl.py"))} {args}".TrimEnd();

    /// <summary>examples/conventions/impl.py: the NumPy implementation whose conventions and known bugs are switches.</summary>
    public static string Conventions(string args = "") => $"/usr/bin/python3 {Quote(Path.Combine(Root, "examples", "conventions", "impl.py"))} {args}".TrimEnd();

    public static string Misbehave(string mode) =>
        $"{(File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3")} {Quote(Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "misbehave.py"))} --mode {mode}";

    public static string Hostile(string mode, string args = "") =>
        $"{(File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3")} {Quote(Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "hostile.py"))} --mode {mode} {args}".TrimEnd();

    /// <summary>Skips a test that sends SIGINT when this process ignores it (started from a shell's background job): the child would too.</summary>
    public static void RequireSigint()
    {
        var line = File.Exists("/proc/self/status") ? File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:")) : null;
        if (line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & 0x2) != 0)
            Assert.Ignore("SIGINT is ignored by this process (a background job), so its children ignore it too");
    }

    public static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";

    /// <summary>Skips on a machine without the tool; fails when GRADORACLE_REQUIRE_TOOLS=1 (CI installs them).</summary>
    public static void Require(bool available, string what)
    {
        if (available) return;
        var message = $"{what} is not installed; run `bash tools/install-test-tools.sh`";
        if (Environment.GetEnvironmentVariable("GRADORACLE_REQUIRE_TOOLS") == "1") Assert.Fail($"GRADORACLE_REQUIRE_TOOLS=1 but {message}");
        Assert.Ignore(message);
    }

    public static void RequireNumPy() => Require(Run("/usr/bin/python3", "-c \"import numpy\"", out _) == 0, "Debian's python3-numpy");

    public static int Run(string exe, string args, out string output, int timeoutMs = 120_000)
    {
        try
        {
            using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(exe, args)
            { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Root })!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(timeoutMs)) { p.Kill(true); output = "timed out"; return -1; }
            output = stdout.Result + stderr.Result;
            return p.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception e) { output = e.Message; return -1; }
    }
}
