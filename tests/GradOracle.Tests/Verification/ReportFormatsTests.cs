using System.Collections.Immutable;
using GradOracle.Tensors;
using GradOracle.Verification;

namespace GradOracle.Tests.Verification;

public class ReportFormatsTests
{
    private static CaseResult Case(string id, CaseStatus status, double actual) =>
        new(id, "relu", "", "random", status, status == CaseStatus.Pass ? "matches" : "differs", [], [], [], "gradoracle explain " + id, 0.01)
        {
            Tensors = new Dictionary<string, ExpectedAndActual>
            {
                ["grads.input"] = new(Tensor.FromArray(Shape.Of(2), [1, double.NaN]), Tensor.FromArray(Shape.Of(2), [actual, -0.0])),
            },
        };

    private static VerifyReport Report(params CaseResult[] cases) => new("impl", "python3 impl.py", "float64", 1, "1/1", [.. cases], [], "", 0);

    [Test]
    public void A_failing_case_keeps_its_tensors_bit_for_bit_in_the_json_report()
    {
        var back = ReportFormats.FromJson(ReportFormats.ToJson(Report(Case("random/1/0", CaseStatus.Fail, 2))));
        var t = back.Cases[0].Tensors!["grads.input"];
        Assert.That(t.Expected.ToArray()[0], Is.EqualTo(1.0));
        Assert.That(double.IsNaN(t.Expected.ToArray()[1]));
        Assert.That(t.Actual.ToArray()[0], Is.EqualTo(2.0));
        Assert.That(double.IsNegative(t.Actual.ToArray()[1]), "-0.0 keeps its sign");
    }

    [Test]
    public void A_passing_case_leaves_its_tensors_out_of_the_json_report()
    {
        var back = ReportFormats.FromJson(ReportFormats.ToJson(Report(Case("random/1/0", CaseStatus.Pass, 1))));
        Assert.That(back.Cases[0].Tensors, Is.Null);
    }

    [Test]
    public void A_merged_report_still_draws_the_heat_maps_of_its_shards_failures()
    {
        var failing = Case("random/1/0", CaseStatus.Fail, 2) with
        {
            Diffs = [new TensorDiff("grads.input", 1, 2, ["grads.input[0]: expected 1, got 2"], null)],
        };
        var shards = new[] { Report(failing) with { Shard = "1/2" }, Report(Case("random/1/1", CaseStatus.Pass, 1)) with { Shard = "2/2" } };
        var merged = ReportFormats.Merge([.. shards.Select(s => ReportFormats.FromJson(ReportFormats.ToJson(s)))]);
        Assert.That(HtmlReport.Render(merged), Does.Contain("<table class=\"heat\">"));
    }

    [Test]
    public void The_time_summary_names_the_slowest_cases_first()
    {
        var r = Report(Case("a", CaseStatus.Pass, 1) with { Seconds = 0.5 }, Case("b", CaseStatus.Pass, 1) with { Seconds = 2.25 }, Case("c", CaseStatus.Skipped, 1) with { Seconds = 0 });
        Assert.That(r.TimeSummary(1), Is.EqualTo("time: 2.8 s in 2 cases; slowest: b 2.25 s"));
        Assert.That(Report(Case("c", CaseStatus.Skipped, 1) with { Seconds = 0 }).TimeSummary(), Is.Null);
    }

    [Test]
    public void Coverage_counts_per_op_what_ran_the_situations_that_arose_and_why_cases_were_skipped()
    {
        var r = Report(
            Case("max_pool2d/a", CaseStatus.Pass, 1) with { Op = "max_pool2d", Situations = ["tie_policy"] },
            Case("max_pool2d/b", CaseStatus.Fail, 2) with { Op = "max_pool2d", Situations = ["tie_policy", "nan_rule"] },
            Case("max_pool2d/c", CaseStatus.Skipped, 1) with { Op = "max_pool2d", Summary = "the implementation answered unsupported: no dilation", Situations = ["nan_rule"] },
            Case("relu/d", CaseStatus.Pass, 1));
        var pool = r.Coverage.Single(c => c.Op == "max_pool2d");
        Assert.That((pool.Ran, pool.Passed, pool.Failed), Is.EqualTo((2, 1, 1)));
        Assert.That(pool.Situations, Is.EquivalentTo(new Dictionary<string, int> { ["tie_policy"] = 2, ["nan_rule"] = 1 }), "a skipped case exercised nothing");
        Assert.That(pool.ToString(), Is.EqualTo("max_pool2d: 2 ran (1 passed, 1 failed); situations: nan_rule in 1, tie_policy in 2; 1 skipped: 1 the implementation answered unsupported: no dilation"));
        Assert.That(ReportFormats.ToJson(r), Does.Contain("\"coverage\"").And.Contain("\"tie_policy\": 2"));
        Assert.That(ReportFormats.ToJunit(r), Does.Contain("name=\"coverage.max_pool2d\""));
        Assert.That(HtmlReport.Render(r), Does.Contain("<ul class=\"coverage\"><li>max_pool2d: 2 ran"));
        Assert.That(ReportFormats.FromJson(ReportFormats.ToJson(r)).Coverage, Has.Length.EqualTo(2), "the JSON report still reads back");
    }
}
