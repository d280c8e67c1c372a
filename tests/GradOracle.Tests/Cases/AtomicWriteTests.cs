using GradOracle.Cases;

namespace GradOracle.Tests.Cases;

/// <summary>CaseStore.WriteAtomically, through which cases generate, the received files and verify's reports are written.</summary>
[NonParallelizable]
public class AtomicWriteTests
{
    private string dir = "";

    [SetUp]
    public void MakeDirectory() => Directory.CreateDirectory(dir = Path.Combine(Path.GetTempPath(), $"gradoracle-atomic-{Guid.NewGuid():N}"));

    [TearDown]
    public void Remove() => Directory.Delete(dir, recursive: true);

    private static void WithCi(string? value, Action a)
    {
        var ci = Environment.GetEnvironmentVariable("CI");
        Environment.SetEnvironmentVariable("CI", value);
        try { a(); }
        finally { Environment.SetEnvironmentVariable("CI", ci); }
    }

    [Test]
    public void A_write_replaces_the_file_whole_and_leaves_no_temporary_file()
    {
        var path = Path.Combine(dir, "op", "case.json");
        WithCi(null, () =>
        {
            CaseStore.WriteAtomically(path, "old");
            CaseStore.WriteAtomically(path, "new ✓");
        });
        Assert.That(File.ReadAllText(path), Is.EqualTo("new ✓"));
        Assert.That(Directory.GetFiles(Path.GetDirectoryName(path)!), Is.EqualTo(new[] { path }));
    }

    [Test]
    public void A_write_that_fails_leaves_no_temporary_file_behind()
    {
        // The rename fails when the target is a directory: the temporary file must not stay beside it.
        var target = Path.Combine(dir, "taken.json");
        Directory.CreateDirectory(Path.Combine(target, "inside"));
        WithCi(null, () => Assert.Throws<IOException>(() => CaseStore.WriteAtomically(target, "text")));
        Assert.That(Directory.GetFiles(dir), Is.Empty);
    }

    [Test]
    public void A_report_can_be_written_on_ci_and_to_a_bare_file_name()
    {
        // verify --junit/--report write through WriteAtomically; only the reference cases are closed on CI.
        var cwd = Environment.CurrentDirectory;
        Environment.CurrentDirectory = dir;
        try { WithCi("true", () => CaseStore.WriteAtomically("report.xml", "<testsuites/>")); }
        finally { Environment.CurrentDirectory = cwd; }
        Assert.That(File.ReadAllText(Path.Combine(dir, "report.xml")), Is.EqualTo("<testsuites/>"));
    }
}
