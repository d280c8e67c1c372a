using System.Net;
using System.Text.RegularExpressions;
using GradOracle.Tensors;
using GradOracle.Verification;

namespace GradOracle.Tests.Verification;

public class HtmlReportTests
{
    private static CaseResult Case(string id, string op, CaseStatus status, string summary = "") =>
        new(id, op, "", "random", status, summary.Length > 0 ? summary : status == CaseStatus.Pass ? "matches" : "differs", [], [], [], "gradoracle explain " + id, 0.01);

    /// <summary>A failing max_pool2d case whose grads.input (2×2) differs: expected [1, -4; 0, NaN], actual [2, -4; 0.5, NaN].</summary>
    private static CaseResult Failing(Tensor? input = null, string tensor = "grads.input") =>
        Case("random/1/0", "max_pool2d", CaseStatus.Fail) with
        {
            Diffs = [new TensorDiff(tensor, 2, 4, [$"{tensor}[0, 0]: expected 1, got 2"], null)],
            Tensors = new Dictionary<string, ExpectedAndActual>
            {
                [tensor] = new(Tensor.FromArray([2, 2], 1, -4, 0, double.NaN), Tensor.FromArray([2, 2], 2, -4, 0.5, double.NaN)),
            },
            Inputs = input is null ? null : new Dictionary<string, Tensor> { ["input"] = input },
        };

    private static VerifyReport Report(params CaseResult[] cases) => new("impl", "python3 impl.py", "float64", 1, "1/1", [.. cases], [], "", 0);

    /// <summary>The text colour of the first heat-map cell whose title (full value) is <paramref name="title"/>.</summary>
    private static string TextColourOf(string html, string title)
    {
        var m = Regex.Match(html, $"<td style=\"background:rgb\\(\\d+,\\d+,\\d+\\);color:(#[0-9a-f]+)\" title=\"{Regex.Escape(title)}\">");
        Assert.That(m.Success, $"no coloured cell titled {title}");
        return m.Groups[1].Value;
    }

    [Test]
    public void The_heat_maps_have_a_legend_naming_the_colours_and_the_value_the_colour_saturates_at()
    {
        var html = HtmlReport.Render(Report(Failing()));
        var legend = Regex.Match(html, "<p class=\"legend\">(.*?)</p>").Groups[1].Value;
        Assert.That(legend, Does.Contain("blue negative").And.Contain("white zero").And.Contain("red positive").And.Contain("grey NaN"));
        Assert.That(legend, Does.Contain("saturates at |value| = 4,"), "the largest |value| of expected and actual");
        Assert.That(html, Does.Contain("title=\"NaN\">NaN</td>"), "a NaN cell says so");
    }

    [Test]
    public void A_saturated_cell_gets_white_text_and_a_pale_one_black()
    {
        var html = HtmlReport.Render(Report(Failing()));
        Assert.That(TextColourOf(html, "-4"), Is.EqualTo("#fff"), "-4 is the scale's end: dark blue");
        Assert.That(TextColourOf(html, "2"), Is.EqualTo("#000"), "2 of 4 is a mid red, black reads better");
        Assert.That(TextColourOf(html, "0.5"), Is.EqualTo("#000"), "0.5 of 4 is pale red");
        Assert.That(HeatMap.TextColor(HeatMap.Background(4, 4)!.Value), Is.EqualTo("#fff"), "the saturated red end");
    }

    [Test]
    public void A_failing_case_draws_its_input_beside_the_gradient_of_the_same_shape()
    {
        var html = HtmlReport.Render(Report(Failing(Tensor.FromArray([2, 2], 3, 3, double.NaN, 0))));
        var row = Regex.Match(html, "<div class=\"maps\">(.*?)</div></div>").Groups[1].Value;
        var captions = Regex.Matches(row, "<caption>([^<]*)</caption>").Select(m => m.Groups[1].Value);
        Assert.That(captions, Is.EqualTo(new[] { "input[:, :]", "expected grads.input[:, :]", "actual grads.input[:, :]", "difference grads.input[:, :]" }));
        Assert.That(Regex.Matches(row, "title=\"NaN\">NaN</td>"), Has.Count.EqualTo(4), "the input's NaN, and expected, actual and difference's");
        Assert.That(html, Does.Contain("the input map has its own scale, saturating at 3"));
    }

    [Test]
    public void An_input_of_another_shape_than_the_differing_tensors_is_drawn_once_on_its_own()
    {
        var html = HtmlReport.Render(Report(Failing(Tensor.FromArray([1, 3], 1, 1, 0), tensor: "output")));
        Assert.That(Regex.Matches(html, "<caption>input"), Has.Count.EqualTo(1));
        Assert.That(html, Does.Contain("<caption>input[:, :]</caption>"));
        Assert.That(Regex.Match(html, "<caption>expected output").Index, Is.LessThan(Regex.Match(html, "<caption>input").Index), "after the maps it could not join");
    }

    [Test]
    public void A_passing_report_lists_the_passes_per_op_the_skips_by_reason_and_the_coverage()
    {
        var html = HtmlReport.Render(Report(
            Case("relu/a", "relu", CaseStatus.Pass), Case("linear/c", "linear", CaseStatus.Pass), Case("relu/b", "relu", CaseStatus.Pass),
            Case("gelu/d", "gelu", CaseStatus.Skipped, "gelu is not among the implementation's ops"),
            Case("gelu/e", "gelu", CaseStatus.Skipped, "gelu is not among the implementation's ops"),
            Case("tanh/f", "tanh", CaseStatus.Skipped, "tanh is not among the implementation's ops"),
            Case("relu/g", "relu", CaseStatus.Skipped, "the implementation answered unsupported: no float16")));
        Assert.That(html, Does.Contain("<details><summary>linear: 1 passed</summary><ul class=\"ids\"><li>linear/c</li></ul></details>"));
        Assert.That(html, Does.Contain("<details><summary>relu: 2 passed</summary><ul class=\"ids\"><li>relu/a</li><li>relu/b</li></ul></details>"));
        Assert.That(html, Does.Not.Contain("gelu: 0 passed"), "an op with no passes is not listed as passing");
        Assert.That(html, Does.Contain("<summary>3 skipped: op not among the implementation&#39;s ops (its hello): gelu (2), tanh (1)</summary>"), "one reason for every op the hello lacks");
        Assert.That(html, Does.Contain("<summary>1 skipped: the implementation answered unsupported: no float16</summary>"));
        Assert.That(html, Does.Contain("<ul class=\"coverage\"><li>linear: 1 ran").And.Contain("<li>relu: 2 ran in float64 (2 passed); 1 skipped: 1 the implementation answered unsupported: no float16</li>"));
        Assert.That(html, Does.Not.Contain("<li>gelu: 0 ran"), "an op the implementation does not have has no coverage to show");
        Assert.That(html, Does.Not.Contain("class=\"legend\""), "no heat maps when nothing failed");
    }

    [Test]
    public void The_summary_shows_the_reports_counts_text_itself()
    {
        var r = Report(Failing(), Case("relu/a", "relu", CaseStatus.Pass), Case("relu/k", "relu", CaseStatus.KnownFailure), Case("gelu/d", "gelu", CaseStatus.Skipped));
        var html = HtmlReport.Render(r);
        var summary = Regex.Match(html, "<p id=\"summary\">(.*?)</p>").Groups[1].Value;
        var counts = Regex.Match(summary, "<span id=\"counts\"[^>]*>([^<]*)</span>");
        Assert.That(WebUtility.HtmlDecode(counts.Groups[1].Value), Is.EqualTo(r.Counts));
        Assert.That(r.Counts, Does.Contain("1 known failures"), "the case mix reaches every part of the counts text");
        Assert.That(Regex.Matches(summary, "passed"), Has.Count.EqualTo(1), "no second copy of the counts");
        Assert.That(summary, Does.Contain("seed 1, shard 1/1").And.Contain("<code>python3 impl.py</code>"));
    }

    [Test]
    public void The_html_report_is_self_contained_and_renders_in_headless_chromium()
    {
        Tools.RequireNumPy();
        var r = Verifier.Run(new VerifyOptions
        {
            Command = Tools.NumPy("--bug mean-copy"), Cases = GradOracle.Cases.CaseStore.FindFromCheckout(TestContext.CurrentContext.TestDirectory),
            Seed = 3, RandomCases = 20,
        });
        var html = HtmlReport.Render(r);
        Assert.That(html, Does.Not.Contain("http://").And.Not.Contain("https://").And.Not.Contain("<script"), "no network, no scripts");
        Assert.That(html, Does.Contain("<table class=\"heat\">").And.Contain("mean-pool gradient copied").And.Contain("reproduce: <code>gradoracle explain"));
        Assert.That(r.Cases.Where(c => c.Status == CaseStatus.Fail).Select(c => c.Inputs?.ContainsKey("input")), Is.Not.Empty.And.All.True, "failing cases carry the inputs sent");
        Assert.That(html, Does.Contain("<caption>input["), "the input's map beside grads.input");

        Tools.Require(Tools.Run("chromium", "--version", out _) == 0, "chromium");
        var dir = Path.Combine(Path.GetTempPath(), $"gradoracle-report-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var page = Path.Combine(dir, "report.html");
            File.WriteAllText(page, html);
            var flags = $"--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync --user-data-dir={dir}/profile";
            Assert.That(Tools.Run("chromium", $"{flags} --dump-dom file://{page}", out var dom), Is.Zero, dom);
            Assert.That(dom, Does.Contain("id=\"summary\"").And.Contain("failed").And.Contain("class=\"heat\""));
            var shot = Path.Combine(dir, "report.png");
            Tools.Run("chromium", $"{flags} --window-size=1200,900 --screenshot={shot} file://{page}", out var log);
            Assert.That(new FileInfo(shot).Length, Is.GreaterThan(10_000), log);
        }
        finally { Directory.Delete(dir, true); }
    }
}
