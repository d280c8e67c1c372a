using GradOracle.Cases;

namespace GradOracle.Tests.Cases;

/// <summary>
/// The snapshot run: the oracle's current outputs for every committed case against the verified file,
/// within the case's tolerance. A mismatch writes &lt;case&gt;.received.json beside the verified file (not on
/// CI) and fails naming the case, the tensor and the worst elements; `gradoracle cases accept` promotes it.
/// </summary>
public class ReferenceCaseSnapshotTests
{
    private static readonly CaseStore Store = CaseStore.FindFromCheckout(TestContext.CurrentContext.TestDirectory);

    private static IEnumerable<TestCaseData> Files() =>
        Store.VerifiedFiles().Select(f => new TestCaseData(f).SetArgDisplayNames(Store.IdOf(f)));

    [TestCaseSource(nameof(Files))]
    public void The_oracle_still_produces_the_verified_values(string path)
    {
        var c = CaseStore.Load(path);
        var actual = CaseComparison.OracleTensors(c);
        var comparison = CaseComparison.Compare(c, actual);
        if (comparison.Passed) return;
        string where = CaseStore.IsCi ? "(CI: no received file written)" : $"received: {Store.WriteReceived(CaseComparison.WithExpected(c, actual))}";
        Assert.Fail($"{comparison.Describe()}\n{where}\naccept with: gradoracle cases accept {c.Id}");
    }
}
