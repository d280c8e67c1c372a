using GradOracle.Cases;
using GradOracle.Verification;

namespace GradOracle.Tests.Verification;

/// <summary>
/// verify on implementations that are correct and differ from PyTorch on purpose where a gradient is a set, and on
/// implementations with the bugs real code has there: end to end, through examples/conventions/impl.py.
/// </summary>
public class ConventionsTests
{
    private static readonly CaseStore Cases = CaseStore.FindFromCheckout(TestContext.CurrentContext.TestDirectory);

    private static VerifyOptions Options(string args, int random = 500) =>
        new() { Command = Tools.Conventions(args), Cases = Cases, Seed = 21, RandomCases = random, Timeout = TimeSpan.FromSeconds(30) };

    private static string Why(VerifyReport r) => string.Join("\n", r.Cases.Where(c => c.Status is CaseStatus.Fail or CaseStatus.Error).Take(5).Select(ReportFormats.Detail));

    [TestCase("--ties last", "tie_policy")]
    [TestCase("--ties split", "tie_policy")]
    [TestCase("--nan first", "nan_rule")]
    [TestCase("--nan none", "nan_rule")]
    [TestCase("--nan ignore", "nan_rule")]
    [TestCase("--relu-at-zero 1", "relu_at_zero")]
    [TestCase("--leaky-at-zero 1", "leaky_relu_at_zero")]
    [TestCase("--ties split --nan first --relu-at-zero 0.5 --dtype float32", "tie_policy")]
    public void A_correct_implementation_that_differs_from_pytorch_passes_and_fails_under_strict_exactly_where_it_differs(string args, string situation)
    {
        Tools.RequireNumPy();
        var lenient = Verifier.Run(Options(args));
        Assert.That(lenient.ExitCode, Is.Zero, Why(lenient));
        Assert.That(lenient.Count(CaseStatus.Pass), Is.GreaterThan(250));
        var differing = lenient.Cases.Where(c => c.Conventions.Length > 0).ToList();
        Assert.That(differing.SelectMany(c => c.Conventions).Select(v => v.Situation), Has.Some.EqualTo(situation));
        Assert.That(differing.SelectMany(c => c.Conventions).Select(v => v.Valid), Has.All.True);

        var strict = Verifier.Run(Options(args) with { Strict = true, FiniteDifferenceMaxElements = 0 });
        var failed = strict.Cases.Where(c => c.Status != CaseStatus.Pass && c.Status != CaseStatus.Skipped).ToList();
        Assert.That(failed.Select(c => c.Id), Is.EquivalentTo(differing.Select(c => c.Id)), Why(strict));
        Assert.That(failed.Select(c => c.Summary), Has.All.EndWith("is required (--strict: PyTorch's choice)"));
    }

    [Test]
    public void A_float32_implementation_declared_as_such_passes_strict_too()
    {
        Tools.RequireNumPy();
        var strict = Verifier.Run(Options("--dtype float32") with { Strict = true });
        Assert.That(strict.ExitCode, Is.Zero, Why(strict));
        Assert.That(strict.Cases.SelectMany(c => c.Conventions), Is.Empty);
    }

    [Test]
    public void Batch_norm_with_two_values_per_channel_passes_in_float64_and_float32()
    {
        Tools.RequireNumPy();
        foreach (var dtype in new[] { "float64", "float32" })
        {
            var r = Verifier.Run(Options($"--dtype {dtype}", random: 0) with { Filter = "two-per-channel" });
            // With and without affine parameters, and one that updates the running statistics.
            Assert.That(r.Cases.Select(c => c.Status).ToArray(), Has.Length.EqualTo(3).And.All.EqualTo(CaseStatus.Pass), Why(r));
        }
    }

    [Test]
    public void Declared_conventions_are_held_strictly_and_reported()
    {
        Tools.RequireNumPy();
        var r = Verifier.Run(Options("--declare --ties last --relu-at-zero 1", random: 150));
        Assert.That(r.ExitCode, Is.Zero, Why(r));
        Assert.That(r.Declared, Does.ContainKey("tie_policy").WithValue("last"));
        Assert.That(r.Declared, Does.ContainKey("relu_at_zero").WithValue("1"));
        Assert.That(r.Findings, Has.Some.Match(@"^tie_policy \(tied maxima in a window\) arises in \d+ case\(s\): the declared last in \d+; declared, so held strictly$"));
        Assert.That(r.Cases.SelectMany(c => c.Conventions), Is.Empty, "a declared choice is the expected rule, not a convention");
    }

    [Test]
    public void Strict_holds_even_a_declared_choice_to_pytorchs()
    {
        Tools.RequireNumPy();
        var r = Verifier.Run(Options("--declare --ties last", random: 150) with { Strict = true, FiniteDifferenceMaxElements = 0 });
        var failed = r.Cases.Where(c => c.Status == CaseStatus.Fail).ToList();
        Assert.That(failed, Is.Not.Empty);
        Assert.That(failed.Select(c => c.Summary), Has.All.StartWith("tied maxima: the last receives the gradient")
            .And.EndWith("where tie_policy=first is required (--strict: PyTorch's choice, though the hello declares last)"));
    }

    [TestCase("all-ties", "every tied maximum receives its window's full gradient (Theano's rule, tie_policy=all)")]
    [TestCase("overwrite", "likely cause: grads.input: overlapping windows overwrite each other's gradient instead of accumulating")]
    [TestCase("out-size", "output has shape")]
    [TestCase("out-size", "PyTorch's output shape is (N, C, *output size), floor((in + 2·padding - dilation·(kernel_size - 1) - 1) / stride) + 1")]
    [TestCase("keepdims", "its values are right, with dimensions of size 1 added or dropped (as a sum with keepdims=True leaves them)")]
    [TestCase("pad-slice", "it is empty along a dimension whose padding is 0 (a slice such as dx[:, :, pad:-pad] is empty when pad = 0)")]
    [TestCase("float32-as-64", "the implementation computes in float32? then declare \"dtype\": \"float32\" in its hello")]
    public void A_known_bug_fails_with_its_name(string bug, string text)
    {
        Tools.RequireNumPy();
        var r = Verifier.Run(Options($"--bug {bug}", random: 150));
        Assert.That(r.ExitCode, Is.EqualTo(1));
        var failing = r.Cases.Where(c => c.Status == CaseStatus.Fail).ToList();
        Assert.That(failing.Select(ReportFormats.Detail), Has.Some.Contains(text), Why(r));
    }

    [Test]
    public void Theanos_rule_where_the_case_asks_for_it_suggests_declaring_that_the_attributes_are_followed()
    {
        Tools.RequireNumPy();
        var r = Verifier.Run(Options("--bug all-ties", random: 0) with { Filter = "max_pool2d/ties-0b9b1c73" });
        var c = r.Cases.Single();
        Assert.That(c.Status, Is.EqualTo(CaseStatus.Fail));
        Assert.That(c.Notes, Has.Some.EqualTo("this case's tie_policy attribute asks for all: an implementation that follows the attribute declares " +
            "\"tie_policy\": \"attribute\" in its hello, and is then judged by it"));
    }

    [Test]
    public void An_output_size_bug_gets_the_formula_filled_in_with_the_cases_attributes()
    {
        Tools.RequireNumPy();
        var r = Verifier.Run(Options("--bug out-size", random: 0) with { Filter = "max_pool2d/ceil-last-window-overlapping" });
        var c = r.Cases.Single();
        Assert.That(c.Summary, Does.StartWith("output has shape (1, 2, 3, 6), expected (1, 2, 5, 6): PyTorch's output shape is (N, C, *output size), " +
            "ceil((in + 2·padding - dilation·(kernel_size - 1) - 1) / stride) + 1 (ceil_mode) per spatial dimension: dimension 2: ceil((8 + 2·1 - 1·(3 - 1) - 1) / 2) + 1 = 5"), c.Summary);
    }
}
