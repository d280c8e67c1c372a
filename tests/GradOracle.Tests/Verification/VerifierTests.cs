using System.Xml.Linq;
using GradOracle.Cases;
using GradOracle.Checking;
using GradOracle.Protocol;
using GradOracle.Verification;

namespace GradOracle.Tests.Verification;

/// <summary>`gradoracle verify` end to end, against real child processes.</summary>
public class VerifierTests
{
    private static readonly CaseStore Cases = CaseStore.FindFromCheckout(TestContext.CurrentContext.TestDirectory);

    private static VerifyOptions Options(string command, int seed = 11, int random = 60, bool reference = true) =>
        new() { Command = command, Cases = reference ? Cases : null, Seed = seed, RandomCases = random, Timeout = TimeSpan.FromSeconds(20) };

    private static string Why(VerifyReport r) => string.Join("\n", r.Cases.Where(c => c.Status is CaseStatus.Fail or CaseStatus.Error).Take(5).Select(ReportFormats.Detail));

    [Test]
    public void The_oracle_served_over_the_protocol_passes_every_case_and_its_own_finite_differences()
    {
        var r = Verifier.Run(Options(Tools.Serve));
        Assert.That(r.ExitCode, Is.Zero, Why(r));
        Assert.That(r.Dtype, Is.EqualTo("float64"));
        Assert.That(r.Count(CaseStatus.Pass), Is.EqualTo(Cases.VerifiedFiles().Count + 60));
        Assert.That(r.Cases.Count(c => c.Notes.Any(n => n.StartsWith("backward agrees with finite differences of its own forward"))), Is.GreaterThan(50));
        Assert.That(r.Findings, Has.Some.Match(@"^tie_policy \(tied maxima in a window\) arises in (\d+) case\(s\): the case's attribute in \1; declared, so held strictly$"));
        Assert.That(r.Cases.SelectMany(c => c.Conventions), Is.Empty, "the server follows each case's attributes: no case needs another convention");
        var conv = r.Coverage.Single(c => c.Op == "conv2d");
        Assert.That(conv.Attributes["groups"].Values.Sum(), Is.EqualTo(conv.Ran), "every case counted once per attribute");
        Assert.That(conv.Attributes["groups"].Keys.ToList(), Has.Count.GreaterThan(1).And.Contains("1"));
        Assert.That(conv.Attributes["input bias"].Keys, Is.EquivalentTo(new[] { "given", "left out" }));
        Assert.That(r.Coverage.Single(c => c.Op == "max_pool2d").Attributes["ceil_mode"].Keys, Is.EquivalentTo(new[] { "False", "True" }));
    }

    [Test]
    public void The_independent_numpy_example_passes_and_unsupported_ops_are_skipped()
    {
        Tools.RequireNumPy();
        var r = Verifier.Run(Options(Tools.NumPy(), random: 150));
        Assert.That(r.ExitCode, Is.Zero, Why(r));
        Assert.That(r.Count(CaseStatus.Pass), Is.GreaterThan(80));
        // The example implements interpolate's nearest and linear modes and answers the others unsupported.
        Assert.That(r.Cases.Where(c => c.Status == CaseStatus.Skipped).Select(c => c.Summary),
            Has.All.Contains("is not among the implementation's ops").Or.Match("answered unsupported: interpolate mode '(bicubic|trilinear)'"));
        Assert.That(r.Findings, Has.Some.Match(@"^tie_policy \(tied maxima in a window\) arises in (\d+) case\(s\): PyTorch's first in \1; any valid choice passes$"));
        Assert.That(r.Findings, Has.Some.Match(@"^nan_rule \(a window holding NaN\) arises in (\d+) case\(s\): PyTorch's propagate in \1;"));
    }

    [Test]
    public void A_float32_implementation_is_judged_with_tolerances_from_what_was_summed()
    {
        Tools.RequireNumPy();
        var r = Verifier.Run(Options(Tools.NumPy("--dtype float32"), random: 150));
        Assert.That(r.Dtype, Is.EqualTo("float32"));
        Assert.That(r.ExitCode, Is.Zero, Why(r));
    }

    [TestCase("mean-copy", "grads.input: mean-pool gradient copied to every window cell instead of divided by the divisor")]
    [TestCase("unrotated", "grads.input: convolution input gradient computed with the kernel not rotated by 180 degrees")]
    [TestCase("dw-mean", "grads.weight: weight gradient divided by the batch size")]
    [TestCase("sign", "grads.input: sign flipped")]
    [TestCase("silu-gate", "grads.input: silu backward misses the x·σ(x)·σ(-x) term")]
    [TestCase("mish-gate", "grads.input: mish backward misses the x·sech²(softplus(x))·σ(x) term")]
    [TestCase("hardtanh-pass", "grads.input: hardtanh backward passes the gradient where the output is clamped")]
    [TestCase("relu6-upper", "grads.input: relu6 backward forgets the upper clamp")]
    [TestCase("hardsigmoid-sixth", "grads.input: hardsigmoid backward misses the 1/6")]
    [TestCase("hardswish-gate", "grads.input: hardswish backward treats the gate relu6(x + 3)/6 as a constant")]
    [TestCase("elu-output", "grads.input: elu backward uses the output as the slope for x ≤ 0, without adding alpha")]
    [TestCase("selu-scale", "grads.input: selu backward misses the scale λ")]
    [TestCase("celu-exp", "grads.input: celu backward misses the 1/alpha in the exponent")]
    [TestCase("softplus-beta", "grads.input: softplus backward ignores beta")]
    [TestCase("mse-no-two", "grads.input: mse_loss backward misses the factor 2")]
    [TestCase("norm-unbiased", "output: normalised with the unbiased variance (divided by M - 1")]
    [TestCase("norm-eps-outside", "output: eps added outside the square root")]
    [TestCase("bce-logit-grad", "grads.input: binary_cross_entropy backward returns w·(p - t)·g, the gradient with respect to the logits")]
    [TestCase("bcel-pos-negative", "output: pos_weight applied to the negative term")]
    [TestCase("kl-batchmean", "output: reduction 'mean' (divided by the 8 elements) computed where 'batchmean'")]
    [TestCase("nll-mean-count", "output: mean divided by the number of targets, not by the sum of their class weights")]
    [TestCase("l1-no-mean", "grads.input: l1_loss backward misses the mean's division by the")]
    [TestCase("smooth-as-huber", "output: huber_loss(delta=")]
    [TestCase("huber-as-smooth", "output: smooth_l1_loss(beta=")]
    [TestCase("pad-symmetric", "output: reflect padding repeats the edge element (numpy's 'symmetric')")]
    [TestCase("dropout-no-scale", "output: the scale 1/(1 - p) = ")]
    [TestCase("embed-fancy", "grads.weight: embedding backward overwrites a row read more than once instead of summing")]
    [TestCase("unpool-put", "output: indices read as flat positions over the whole (N, C, *) output")]
    [TestCase("lrn-sum", "output: the window's sum of squares not divided by size")]
    [TestCase("ls-others", "output: label_smoothing spreads ε = ")]
    [TestCase("bn-biased-running", "extras.running_var: running_var updated with the biased batch variance")]
    [TestCase("interp-asymmetric", "output: coordinates without the half-pixel offset")]
    [TestCase("lp-no-kernel", "output: the power mean (avg_pool(x^p))^(1/p), without PyTorch's factor kernel_size")]
    [TestCase("outpad-front", "output: output_padding 1 added at the start of each dimension instead of the end")]
    [TestCase("shuffle-dcr", "pixel_shuffle with TensorFlow's depth_to_space channel order (DCR")]
    [TestCase("prelu-dw-all", "grads.weight: prelu's weight gradient sums dy·x over every element, also where x > 0")]
    [TestCase("overwrite", "overlapping windows overwrite each other's gradient instead of accumulating")]
    [TestCase("pad-plus-one", "output: off-by-one in padding")]
    public void A_planted_bug_fails_with_its_name_in_the_diagnosis(string bug, string diagnosis)
    {
        Tools.RequireNumPy();
        // The diagnosis comes from the comparison with the oracle: finite differences of the passing cases' own forward are another test's.
        var r = Verifier.Run(Options(Tools.NumPy($"--bug {bug}"), seed: 3, random: 150) with { FiniteDifferences = FiniteDifferenceMode.None });
        Assert.That(r.ExitCode, Is.EqualTo(1));
        var failing = r.Cases.Where(c => c.Status == CaseStatus.Fail).ToList();
        Assert.That(failing, Is.Not.Empty);
        Assert.That(failing.SelectMany(c => c.Diagnosis), Has.Some.Contains(diagnosis), Why(r));
        Assert.That(failing.SelectMany(c => c.Diffs).SelectMany(d => d.Worst), Is.Not.Empty);
    }

    [Test]
    public void A_conv_that_drops_its_last_partial_tile_passes_the_default_run_and_fails_the_edge_sweep_named_with_its_smallest_size()
    {
        Tools.RequireNumPy();
        var impl = Tools.NumPy("--bug tile-drop");
        var small = Verifier.Run(Options(impl, seed: 3, random: 150));
        Assert.That(small.ExitCode, Is.Zero, "small cases never reach a width past 32: " + Why(small));
        var edges = Verifier.Run(Options(impl, seed: 3, random: 0, reference: false) with { Edges = true, Filter = "/conv2d/", FiniteDifferences = FiniteDifferenceMode.None });
        Assert.That(edges.ExitCode, Is.EqualTo(1));
        var failing = edges.Cases.Where(c => c.Status == CaseStatus.Fail).Select(c => c.Id).ToList();
        Assert.That(failing, Is.EquivalentTo(new[] { 33, 63, 65, 127, 129, 255, 257 }.Select(w => $"edges/3/conv2d/W={w}")), "exactly the widths with a partial tile past 32");
        Assert.That(edges.Findings, Has.Some.StartsWith("size-dependent failure: conv2d fails with W in {33, 63, 65, 127, 129, 255, 257}")
            .And.Some.Contains("smallest failing size W=33 (edges/3/conv2d/W=33), largest passing size below it W=32"));
        var w33 = edges.Cases.Single(c => c.Id == "edges/3/conv2d/W=33").Diffs.Single(d => d.Tensor == "grads.input");
        Assert.That(w33.Where, Is.EqualTo("grads.input[:, :, :, 32]"), "the map says where: the last column only");
    }

    // The example passes dy at hardtanh's edges (np.clip's mask), takes slope 1 at prelu's 0 (x >= 0) and at l1's (d >= 0).
    [TestCase("hardtanh/edges", "hardtanh at -1 and 1: the inside slope, at 5 element(s) (PyTorch: outside)")]
    [TestCase("prelu/per-channel-zero", "prelu at 0: the right slope, at 3 element(s) (PyTorch: left)")]
    [TestCase("l1_loss/sum-equal", "l1_loss where input = target: the right slope, at 3 element(s) (PyTorch: mean)")]
    public void Another_valid_slope_at_a_kink_passes_named_against_pytorch_and_fails_under_strict(string filter, string named)
    {
        Tools.RequireNumPy();
        var r = Verifier.Run(Options(Tools.NumPy(), seed: 3, random: 0) with { Filter = filter });
        var c = r.Cases.Single();
        Assert.That(c.Status, Is.EqualTo(CaseStatus.Pass), Why(r));
        Assert.That(c.Conventions.Single().Text, Is.EqualTo(named));
        var strict = Verifier.Run(Options(Tools.NumPy(), seed: 3, random: 0) with { Filter = filter, Strict = true });
        Assert.That(strict.Cases.Single().Status, Is.EqualTo(CaseStatus.Fail), "--strict holds PyTorch's slope");
    }

    [Test]
    public void A_known_bug_that_reproduces_the_answer_is_not_also_offered_as_float32_rounding()
    {
        // eps outside the square root moves layer_norm by about eps: within float32's allowance, yet exactly the named bug.
        Tools.RequireNumPy();
        var r = Verifier.Run(Options(Tools.NumPy("--bug norm-eps-outside"), seed: 3, random: 0) with { Filter = "layer_norm/last-dimension" });
        var c = r.Cases.Single();
        Assert.That(c.Diagnosis, Has.Some.StartsWith("output: eps added outside the square root"), Why(r));
        Assert.That(c.Diagnosis, Has.None.Contains("then declare \"dtype\""));
    }

    [Test]
    public void Running_statistics_of_the_wrong_shape_fail_the_case_named_without_stopping_the_run()
    {
        Tools.RequireNumPy();
        var r = Verifier.Run(Options(Tools.NumPy("--bug bn-keepdims"), seed: 3, random: 0) with { Filter = "batch_norm/training-running-statistics" });
        Assert.That(r.Cases, Has.Length.EqualTo(4));
        Assert.That(r.Cases.Select(c => c.Status), Has.All.EqualTo(CaseStatus.Fail), Why(r));
        Assert.That(r.Cases.First().Summary, Does.Match(@"extras\.running_mean has shape \(1, \d\), expected \(\d\): its values are right, with dimensions of size 1 added"));
    }

    [Test]
    public void Running_statistics_left_out_of_a_reply_are_said_to_be_unchecked_not_failed()
    {
        // The conventions example returns batch_norm's output and gradients only.
        Tools.RequireNumPy();
        var r = Verifier.Run(Options(Tools.Conventions(), seed: 3, random: 0) with { Filter = "batch_norm/training-running-statistics-momentum" });
        var c = r.Cases.Single();
        Assert.That(c.Status, Is.EqualTo(CaseStatus.Pass), Why(r));
        Assert.That(c.Notes, Has.Some.EqualTo("running_mean and running_var not in the reply (\"extras\"): not checked"));
    }

    [Test]
    public void The_mean_copy_diagnosis_gives_the_window_size_as_the_factor()
    {
        Tools.RequireNumPy();
        var r = Verifier.Run(Options(Tools.NumPy("--bug mean-copy"), seed: 3, random: 0) with { Filter = "avg_pool2d/source-example" });
        var c = r.Cases.Single();
        Assert.That(c.Diagnosis, Has.Some.Contains("4x too large (the window holds 4 cells)"));
        Assert.That(c.Diffs.Single().Worst[0], Does.Contain("expected 0.5, got 2").And.Contain("window (0, 0) over input values [1, 3, 2, 2]"));
    }

    [Test]
    public void Another_valid_tie_rule_passes_each_case_on_its_own_named_against_pytorch()
    {
        Tools.RequireNumPy();
        var r = Verifier.Run(Options(Tools.NumPy("--bug tie-last"), seed: 3, random: 150));
        Assert.That(r.ExitCode, Is.Zero, Why(r));
        Assert.That(r.Findings, Has.Some.Match(@"^tie_policy \(tied maxima in a window\) arises in \d+ case\(s\): last in \d+"));
        var named = r.Cases.Where(c => c.Conventions.Any(v => v.Situation == "tie_policy")).ToList();
        Assert.That(named, Is.Not.Empty);
        Assert.That(named.SelectMany(c => c.Conventions).Select(v => v.Text), Has.All.StartsWith("tied maxima: the last receives the gradient, in").And.EndsWith("(PyTorch: the first)"));
        Assert.That(named.Select(c => c.Summary), Has.All.StartsWith("a valid gradient: tied maxima: the last receives the gradient"));
    }

    [Test]
    public void Another_valid_tie_rule_fails_under_strict_exactly_where_it_differs_from_pytorch()
    {
        Tools.RequireNumPy();
        var lenient = Verifier.Run(Options(Tools.NumPy("--bug tie-last"), seed: 3, random: 150));
        var strict = Verifier.Run(Options(Tools.NumPy("--bug tie-last"), seed: 3, random: 150) with { Strict = true });
        var differing = lenient.Cases.Where(c => c.Conventions.Length > 0).Select(c => c.Id).ToList();
        Assert.That(differing, Is.Not.Empty);
        Assert.That(strict.Cases.Where(c => c.Status == CaseStatus.Fail).Select(c => c.Id), Is.EquivalentTo(differing), Why(strict));
        Assert.That(strict.Cases.Where(c => c.Status == CaseStatus.Fail && c.Op.StartsWith("max_pool")).Select(c => c.Summary),
            Has.All.StartsWith("tied maxima: the last receives the gradient").And.EndsWith("where tie_policy=first is required (--strict: PyTorch's choice)"));
        Assert.That(strict.ExitCode, Is.EqualTo(1));
    }

    [Test]
    public void A_nan_rule_that_ignores_nan_passes_and_is_named_against_pytorch()
    {
        Tools.RequireNumPy();
        var r = Verifier.Run(Options(Tools.NumPy("--bug nan-ignore"), seed: 3, random: 150));
        Assert.That(r.ExitCode, Is.Zero, Why(r));
        Assert.That(r.Findings, Has.Some.Match(@"^nan_rule \(a window holding NaN\) arises in \d+ case\(s\): ignore in \d+"));
        Assert.That(r.Cases.SelectMany(c => c.Conventions).Where(v => v.Situation == "nan_rule").Select(v => v.Text),
            Has.Some.StartsWith("NaN loses every comparison (the output is the maximum of the other values)").And.EndsWith("(PyTorch: NaN wins)"));
    }

    [TestCase("crash", CaseStatus.Error, "crashed: the process exited with code 139 before answering; its stderr ends: sigmoid: segmentation fault (simulated)")]
    [TestCase("garbage", CaseStatus.Error, "garbage: unreadable response")]
    [TestCase("error", CaseStatus.Error, "the implementation reported an error: sigmoid not implemented")]
    [TestCase("wrongid", CaseStatus.Error, "wrong id")]
    [TestCase("shape", CaseStatus.Fail, "output has shape")]
    public void A_misbehaving_implementation_is_reported_case_by_case_and_the_run_goes_on(string mode, CaseStatus status, string reason)
    {
        var r = Verifier.Run(Options(Tools.Misbehave(mode), seed: 5, random: 120, reference: false));
        var sigmoid = r.Cases.Where(c => c.Op == "sigmoid").ToList();
        var relu = r.Cases.Where(c => c.Op == "relu").ToList();
        Assert.That(sigmoid, Is.Not.Empty);
        Assert.That(relu, Is.Not.Empty);
        Assert.That(sigmoid.Select(c => c.Status), Has.All.EqualTo(status));
        Assert.That(sigmoid.Select(c => c.Summary), Has.All.Contains(reason));
        Assert.That(relu.Select(c => c.Status), Has.All.EqualTo(CaseStatus.Pass), "relu cases after each failure still pass");
        Assert.That(r.ExitCode, Is.EqualTo(1));
    }

    [Test]
    public void A_hanging_implementation_times_out_per_case_and_is_restarted()
    {
        var r = Verifier.Run(Options(Tools.Misbehave("hang"), seed: 5, random: 120, reference: false) with { Timeout = TimeSpan.FromSeconds(1) });
        var sigmoid = r.Cases.Where(c => c.Op == "sigmoid").ToList();
        Assert.That(sigmoid, Is.Not.Empty);
        Assert.That(sigmoid.Select(c => c.Summary), Has.All.StartsWith("timeout: no response within 1 s"));
        Assert.That(r.Restarts, Is.GreaterThanOrEqualTo(sigmoid.Count));
        Assert.That(r.Cases.Where(c => c.Op == "relu").Select(c => c.Status), Has.All.EqualTo(CaseStatus.Pass));
    }

    [Test]
    public void A_crash_amid_the_finite_difference_passes_makes_that_case_an_error_and_the_run_goes_on()
    {
        // crash-fd: sigmoid's 8th forward-only request crashes, amid the finite-difference passes of a case.
        var r = Verifier.Run(Options(Tools.Misbehave("crash-fd"), seed: 5, random: 120, reference: false));
        var sigmoid = r.Cases.Where(c => c.Op == "sigmoid").ToList();
        var crashed = sigmoid.Where(c => c.Status == CaseStatus.Error).ToList();
        Assert.That(crashed, Is.Not.Empty, Why(r));
        Assert.That(crashed.Select(c => c.Summary), Has.All.Contains("during the finite-difference check of its own forward: request ")
            .And.All.Contains("crashed: the process exited with code 139"));
        Assert.That(sigmoid.SelectMany(c => c.Notes), Has.Some.StartsWith("backward agrees with finite differences of its own forward"));
        Assert.That(r.Cases.Where(c => c.Op == "relu").Select(c => c.Status), Has.All.EqualTo(CaseStatus.Pass), Why(r));
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Restarts, Is.GreaterThanOrEqualTo(1));
    }

    [TestCase("exec /nonexistent/impl", "did not answer the hello")]
    [TestCase("silent", "did not answer the hello: no response within")]
    public void An_implementation_that_cannot_be_run_at_all_is_refused_before_any_case(string command, string message)
    {
        var options = Options(command == "silent" ? Tools.Misbehave("silent") : command, reference: false) with { Timeout = TimeSpan.FromSeconds(2) };
        var e = Assert.Throws<ImplementationUnavailableException>(() => Verifier.Run(options));
        Assert.That(e!.Message, Does.Contain(message));
    }

    [Test]
    public void Shards_split_the_cases_deterministically_and_their_reports_merge()
    {
        var full = Verifier.Run(Options(Tools.Serve, random: 30));
        var shards = Enumerable.Range(1, 3).Select(i => Verifier.Run(Options(Tools.Serve, random: 30) with { Shard = new Shard(i, 3) })).ToList();
        var ids = shards.SelectMany(s => s.Cases.Select(c => c.Id)).ToList();
        Assert.That(ids, Is.Unique);
        Assert.That(ids.Order(StringComparer.Ordinal), Is.EqualTo(full.Cases.Select(c => c.Id).Order(StringComparer.Ordinal)));
        var merged = ReportFormats.Merge(shards.Select(s => ReportFormats.FromJson(ReportFormats.ToJson(s))).ToList());
        Assert.That(merged.Cases.Select(c => (c.Id, c.Status)), Is.EquivalentTo(full.Cases.Select(c => (c.Id, c.Status))));
        Assert.That(merged.Shard, Is.EqualTo("1/3+2/3+3/3"));
    }

    [Test]
    public void A_recording_catches_a_later_version_that_changed()
    {
        Tools.RequireNumPy();
        var dir = Path.Combine(Path.GetTempPath(), $"gradoracle-record-{Guid.NewGuid():N}");
        try
        {
            var recorded = Verifier.Run(Options(Tools.NumPy(), seed: 3, random: 60) with { RecordDir = dir });
            Assert.That(recorded.ExitCode, Is.Zero, Why(recorded));
            var same = Verifier.Run(Options(Tools.NumPy(), seed: 3, random: 60) with { AgainstDir = dir });
            Assert.That(same.ExitCode, Is.Zero, Why(same));
            Assert.That(same.Cases.Where(c => c.Status == CaseStatus.Pass).Select(c => c.Notes), Has.All.Contains("unchanged since the recording"));
            var changed = Verifier.Run(Options(Tools.NumPy("--bug dw-mean"), seed: 3, random: 60) with { AgainstDir = dir });
            var conv = changed.Cases.Where(c => c.Op.StartsWith("conv") && c.Status == CaseStatus.Fail).ToList();
            Assert.That(conv.SelectMany(c => c.Diffs).Select(d => d.Problem ?? ""), Has.Some.Contains("changed since the recording: grads.weight"));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Test]
    public void Junit_and_json_reports_carry_every_case()
    {
        Tools.RequireNumPy();
        var r = Verifier.Run(Options(Tools.NumPy("--bug mean-copy"), seed: 3, random: 40));
        var junit = XDocument.Parse(ReportFormats.ToJunit(r));
        var suite = junit.Root!.Element("testsuite")!;
        Assert.That((int)suite.Attribute("tests")!, Is.EqualTo(r.Cases.Length));
        Assert.That(suite.Elements("testcase").Count(t => t.Element("failure") is not null), Is.EqualTo(r.Count(CaseStatus.Fail)));
        Assert.That(suite.Elements("testcase").Count(t => t.Element("skipped") is not null), Is.EqualTo(r.Count(CaseStatus.Skipped)));
        Assert.That(suite.Descendants("failure").First().Value, Does.Contain("likely cause: grads.input: mean-pool gradient copied"));
        var back = ReportFormats.FromJson(ReportFormats.ToJson(r));
        Assert.That(back.Cases.Select(c => (c.Id, c.Status, c.Summary)), Is.EqualTo(r.Cases.Select(c => (c.Id, c.Status, c.Summary))));
        Assert.That(back.Seed, Is.EqualTo(3));
    }

    [Test]
    public void The_protocol_server_answers_errors_for_bad_requests_instead_of_dying()
    {
        Assert.That(Server.Answer("not json"), Does.StartWith("{\"id\": null, \"error\": \"bad request"));
        Assert.That(Server.Answer("{\"id\": 4, \"type\": \"hello\", \"protocol\": 9}"), Does.Contain("protocol 9 is not supported"));
        Assert.That(Server.Answer("{\"id\": 5, \"type\": \"run\", \"op\": \"conv2d\", \"attrs\": {}, \"inputs\": {\"input\": {\"shape\": [1, 3, 4, 4], \"data\": [" + string.Join(",", Enumerable.Repeat("0", 48)) + "]}, \"weight\": {\"shape\": [2, 2, 3, 3], \"data\": [" + string.Join(",", Enumerable.Repeat("0", 36)) + "]}}}"),
            Does.Contain("\"id\": 5, \"error\": \"weight.shape = (2, 2, 3, 3): dimension 1 must be C_in/groups = 3/1 = 3\""));
        var hello = (HelloResponse)Messages.ParseResponse(Server.Answer(Messages.Hello(0)));
        Assert.That(hello.Ops, Does.Contain("stochastic_pool2d").And.Contain("cross_entropy"));
    }
}
