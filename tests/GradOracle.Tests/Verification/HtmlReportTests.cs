using GradOracle.Verification;

namespace GradOracle.Tests.Verification;

public class HtmlReportTests
{
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
