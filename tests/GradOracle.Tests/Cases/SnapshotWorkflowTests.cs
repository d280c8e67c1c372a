using GradOracle.Cases;
using GradOracle.Tensors;

namespace GradOracle.Tests.Cases;

/// <summary>Verify's conventions on a scratch copy: received beside verified, explicit accept, nothing written on CI.</summary>
[NonParallelizable]
public class SnapshotWorkflowTests
{
    private string dir = "";
    private CaseStore store = null!;
    private ReferenceCase original = null!;

    [SetUp]
    public void CopyOneCase()
    {
        dir = Path.Combine(Path.GetTempPath(), $"gradoracle-cases-{Guid.NewGuid():N}");
        var real = CaseStore.FindFromCheckout(TestContext.CurrentContext.TestDirectory);
        original = CaseStore.Load(real.VerifiedFiles().First(f => f.Contains("avg_pool2d")));
        store = new CaseStore(dir);
        WithoutCi(() => store.WriteVerified(original));
    }

    [TearDown]
    public void Remove() => Directory.Delete(dir, recursive: true);

    private static void WithoutCi(Action a)
    {
        var ci = Environment.GetEnvironmentVariable("CI");
        Environment.SetEnvironmentVariable("CI", null);
        try { a(); }
        finally { Environment.SetEnvironmentVariable("CI", ci); }
    }

    private ReferenceCase Tampered()
    {
        // The verified value of one output element drifts: the oracle no longer matches the file.
        var o = original.ExpectedOutput.ToArray();
        o[0] += 0.5;
        return original with { ExpectedOutput = Tensor.FromArray(original.ExpectedOutput.Shape, o) };
    }

    [Test]
    public void A_mismatch_names_the_case_the_tensor_and_the_worst_element_with_both_values()
    {
        var c = Tampered();
        var cmp = CaseComparison.AgainstOracle(c);
        Assert.That(cmp.Passed, Is.False);
        var text = cmp.Describe();
        Assert.That(text, Does.StartWith(c.Id));
        Assert.That(text, Does.Contain("output (atol").And.Contain("1 of ").And.Contain($"expected {Tensor.FormatNumber(c.ExpectedOutput.At(0))}, got {Tensor.FormatNumber(original.ExpectedOutput.At(0))}"));
    }

    [Test]
    public void A_received_file_is_written_beside_the_verified_one_and_accept_promotes_it()
    {
        var c = Tampered();
        WithoutCi(() => store.WriteVerified(c));
        var received = CaseComparison.WithExpected(c, CaseComparison.OracleTensors(c));
        string path = "";
        WithoutCi(() => path = store.WriteReceived(received));
        Assert.That(path, Is.EqualTo(Path.Combine(dir, c.Id + ".received.json")));
        Assert.That(store.VerifiedFiles(), Has.Count.EqualTo(1), "a received file is not a verified case");
        Assert.That(CaseComparison.AgainstOracle(CaseStore.Load(store.VerifiedPath(c.Id))).Passed, Is.False, "nothing is accepted automatically");

        bool accepted = false;
        WithoutCi(() => accepted = store.Accept(c.Id));
        Assert.That(accepted, Is.True);
        Assert.That(File.Exists(path), Is.False);
        Assert.That(CaseComparison.AgainstOracle(CaseStore.Load(store.VerifiedPath(c.Id))).Passed, Is.True);
        Assert.That(File.ReadAllText(store.VerifiedPath(c.Id)), Is.EqualTo(CaseFile.Write(original)));
    }

    [Test]
    public void On_ci_nothing_is_written_or_accepted()
    {
        var ci = Environment.GetEnvironmentVariable("CI");
        Environment.SetEnvironmentVariable("CI", "true");
        try
        {
            Assert.Throws<InvalidOperationException>(() => store.WriteReceived(Tampered()));
            Assert.Throws<InvalidOperationException>(() => store.Accept(original.Id));
            Assert.That(Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Count(), Is.EqualTo(1));
        }
        finally { Environment.SetEnvironmentVariable("CI", ci); }
    }

    [Test]
    public void Accepting_a_case_without_a_received_file_changes_nothing()
    {
        bool accepted = true;
        WithoutCi(() => accepted = store.Accept(original.Id));
        Assert.That(accepted, Is.False);
        Assert.That(File.ReadAllText(store.VerifiedPath(original.Id)), Is.EqualTo(CaseFile.Write(original)));
    }
}
