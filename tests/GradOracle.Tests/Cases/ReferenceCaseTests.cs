using GradOracle.Cases;
using GradOracle.Layers;
using GradOracle.Tensors;
using GradOracle.Tests.Torch;
using GradOracle.Torch;

namespace GradOracle.Tests.Cases;

public class ReferenceCaseTests
{
    private static readonly CaseStore Store = CaseStore.FindFromCheckout(TestContext.CurrentContext.TestDirectory);

    private static List<ReferenceCase> Committed() => Store.VerifiedFiles().Select(CaseStore.Load).ToList();

    [Test]
    public void The_committed_set_has_at_least_150_cases_with_unique_ids_matching_their_paths()
    {
        var files = Store.VerifiedFiles();
        Assert.That(files, Has.Count.GreaterThanOrEqualTo(150));
        var ids = files.Select(f => CaseStore.Load(f).Id).ToList();
        Assert.That(ids, Is.Unique);
        Assert.That(ids, Is.EqualTo(files.Select(Store.IdOf)));
    }

    [Test]
    public void The_committed_set_covers_every_op_rank_tie_policy_and_edge_case()
    {
        var cases = Committed();
        var ops = cases.Select(c => c.Op).ToHashSet();
        foreach (var op in OpFactory.Known)
            foreach (var name in op.Contains("{r}") ? new[] { 1, 2, 3 }.Select(r => op.Replace("{r}", r.ToString())) : new[] { op })
                Assert.That(ops, Does.Contain(name));
        Assert.That(cases.Where(c => c.Op.StartsWith("max_pool") && c.Flags.Contains("ties")).Select(c => c.TiePolicy).ToHashSet(),
            Is.EquivalentTo(new[] { "first", "last", "split", "all" }));
        Assert.That(cases.Where(c => c.Flags.Contains("nan")).Select(c => c.NanRule).ToHashSet(), Is.SupersetOf(new[] { "propagate", "ignore" }));
        Assert.That(cases.SelectMany(c => c.Flags).ToHashSet(), Is.SupersetOf(new[]
        {
            "ties", "nan", "negative-zero", "padding-edge", "ceil-last-window", "overlapping", "dilation", "divisor-override",
            "stride-gt-kernel", "source-example", "groups", "same", "valid", "training", "evaluation",
        }));
        Assert.That(cases.Where(c => c.Op == "avg_pool2d").Select(c => (bool)c.Attributes["count_include_pad"]).ToHashSet(), Is.EquivalentTo(new[] { true, false }));
    }

    [Test]
    public void Every_case_records_its_finite_difference_and_libtorch_provenance()
    {
        foreach (var c in Committed())
        {
            var p = c.Provenance;
            Assert.That(p.Generator, Is.EqualTo(CaseGenerator.Generator), c.Id);
            Assert.That(p.FiniteDifferenceElements, Is.GreaterThan(0), c.Id);
            Assert.That(p.FiniteDifferenceMaxError, Is.LessThan(1e-6), c.Id);
            Assert.That(p.LibtorchMaxRelativeDifference is not null || p.LibtorchNone is not null, Is.True, c.Id);
            // Within float64 rounding, or within libtorch's own known error for the op (hardsigmoid's float32 1/6).
            double allowed = Math.Max(TorchParity.RelativeTolerance, OpFactory.Describe(c.Op).TorchError?.Relative ?? 0);
            if (p.LibtorchMaxRelativeDifference is { } d) Assert.That(d, Is.LessThanOrEqualTo(allowed), c.Id);
        }
        var none = Committed().Where(c => c.Provenance.LibtorchNone is not null).Select(c => c.Provenance.LibtorchNone!).ToList();
        Assert.That(none.All(n => n.Contains("stochastic") || n.Contains("tie_policy=first") || n.Contains("known divergence")), Is.True, string.Join("\n", none.Distinct()));
    }

    [Test]
    public void The_source_documents_examples_hold_their_hand_worked_values()
    {
        var cases = Committed().Where(c => c.Flags.Contains("source-example")).ToDictionary(c => c.Op);
        Assert.That(cases["max_pool2d"].ExpectedGrads["input"].ToArray(), Is.EqualTo(new[] { 0.0, 3, 0, 0 }));
        Assert.That(cases["avg_pool2d"].ExpectedGrads["input"].ToArray(), Is.EqualTo(new[] { 0.5, 0.5, 0.5, 0.5 }));
        Assert.That(cases["conv2d"].ExpectedGrads["input"].ToArray(), Is.EqualTo(new[] { -1, -2, 0, 2, 0.5, -4, -1, 1.5, 1 }));
        Assert.That(cases["conv2d"].ExpectedGrads["weight"].ToArray(), Is.EqualTo(new[] { -4.5, 0.5, 0.5, -5.5 }));
    }

    [Test]
    public void Generation_is_deterministic_and_reproduces_the_committed_bytes()
    {
        TorchRequirement.Ensure(); // provenance records libtorch's answers
        var (cases, refused) = CaseGenerator.Generate(new TorchCrossCheck());
        Assert.That(refused, Is.Empty, string.Join("\n", refused.Select(r => r.Message)));
        var (again, _) = CaseGenerator.Generate(new TorchCrossCheck());
        Assert.That(again.Select(CaseFile.Write), Is.EqualTo(cases.Select(CaseFile.Write)));
        var stale = cases.Where(c => !File.Exists(Store.VerifiedPath(c.Id)) || !CaseFile.SameCase(File.ReadAllText(Store.VerifiedPath(c.Id)), CaseFile.Write(c))).Select(c => c.Id).ToList();
        Assert.That(stale, Is.Empty, "run `gradoracle cases generate` and commit the result");
        Assert.That(Store.VerifiedFiles(), Has.Count.EqualTo(cases.Count));
    }

    [Test]
    public void Verify_passes_on_the_committed_set()
    {
        var results = CaseVerifier.Verify(Store, TorchCrossCheck.IfAvailable());
        Assert.That(results.Where(r => !r.Passed).Select(r => $"{r.Id}: {string.Join("; ", r.Problems)}"), Is.Empty);
    }
}
