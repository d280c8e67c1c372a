using GradOracle.Tests.Verification;
using GradOracle.Verification;

namespace GradOracle.Tests.Adapters;

/// <summary>src/adapters/pytorch/gradoracle_torch.py end to end on Debian's python3-torch: torch.nn.functional itself, and a custom autograd.Function right and wrong.</summary>
public class PyTorchAdapterTests
{
    private static string Adapter(string args) =>
        $"/usr/bin/python3 {Tools.Quote(Path.Combine(Tools.Root, "src", "adapters", "pytorch", "gradoracle_torch.py"))} {args}";

    private static string MyOps => $"--module {Tools.Quote(Path.Combine(Tools.Root, "examples", "pytorch", "my_ops.py"))}";

    private static void RequireTorch() =>
        Tools.Require(Tools.Run("/usr/bin/python3", "-c \"import torch\"", out _) == 0, "Debian's python3-torch");

    private static VerifyReport Run(string command) => AdapterRuns.Verify(command, seed: 1);

    private static string Why(VerifyReport r) => string.Join("\n", r.Cases.Where(c => c.Status is CaseStatus.Fail or CaseStatus.Error).Take(3).Select(ReportFormats.Detail));

    [Test]
    public void Torch_nn_functional_itself_passes_every_op_it_has_but_its_float64_hardsigmoid_and_smooth_l1_at_beta_0()
    {
        RequireTorch();
        var r = Run(Adapter("--functional"));
        // Debian's torch 1.13 cannot differentiate group_norm with a bias and no weight (libtorch 2.10 can): reported as its error.
        var broken = r.Cases.Where(c => c.Op == "group_norm" && c.Status == CaseStatus.Error).ToList();
        Assert.That(broken.Select(c => (c.Attributes, c.Summary)), Has.All.Matches<(string Attributes, string Summary)>(
            c => c.Attributes.Contains("weight=None") && !c.Attributes.Contains("bias=None") && c.Summary.Contains("RuntimeError: tensor does not have a device")));
        // Its smooth_l1_loss with beta = 0 answers dx = dt = -g where input = target, outside the valid set {(s, -s)}: a true failure, named.
        var sameSign = r.Cases.Where(c => c.Op == "smooth_l1_loss" && c.Status == CaseStatus.Fail).ToList();
        Assert.That(sameSign.Select(c => c.Id), Has.Some.StartsWith("smooth_l1_loss/beta-0-equal"));
        foreach (var c in sameSign)
        {
            Assert.That(c.Attributes, Does.Contain("beta=0"), c.Id);
            Assert.That(c.Diagnosis, Has.Some.StartsWith("where input = target, dx and dt both take the left slope (-1), the same sign"), c.Id);
        }
        // PyTorch's hardsigmoid backward multiplies by 1/6 rounded to float32, 2.98e-8 off in float64: a true failure, named.
        var failing = r.Cases.Where(c => c.Status is CaseStatus.Fail or CaseStatus.Error).Except(broken).Except(sameSign).ToList();
        Assert.That(failing.Select(c => c.Op), Has.All.EqualTo("hardsigmoid"), Why(r));
        Assert.That(failing, Has.Count.GreaterThanOrEqualTo(3)); // the three reference cases, and random ones with an element inside (-3, 3)
        foreach (var c in failing) Assert.That(c.Diagnosis, Has.Some.Contains("hardsigmoid backward multiplies by 1/6 rounded to float32"), c.Id);
        Assert.That(r.Count(CaseStatus.Pass), Is.GreaterThan(250));
        // torch.nn.functional has no stochastic pooling, its dropout draws its own mask (the oracle's takes one), and lp_pool3d came with torch 2.2.
        Assert.That(r.Cases.Where(c => c.Status == CaseStatus.Skipped).Select(c => c.Op).Distinct(), Has.All.StartsWith("stochastic_pool").Or.EqualTo("dropout").Or.EqualTo("lp_pool3d"));
    }

    [TestCase("float64")]
    [TestCase("float32")]
    public void A_correct_custom_autograd_function_passes_in_its_dtype(string dtype)
    {
        RequireTorch();
        var r = Run(Adapter($"{MyOps} --dtype {dtype}"));
        Assert.That(r.Dtype, Is.EqualTo(dtype));
        AdapterRuns.AssertPasses(r, "linear");
    }

    [Test]
    public void A_custom_backward_with_a_planted_bug_fails_and_is_named()
    {
        RequireTorch();
        AdapterRuns.AssertFailsNamed(Run("MY_OPS_BUG=1 " + Adapter(MyOps)), "linear", AdapterRuns.DividedWeight);
    }
}
