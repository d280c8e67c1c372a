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
    public void The_json_report_keeps_a_failing_cases_inputs_and_drops_a_passing_ones()
    {
        var input = new Dictionary<string, Tensor> { ["input"] = Tensor.FromArray(Shape.Of(2), [3, double.NaN]) };
        var back = ReportFormats.FromJson(ReportFormats.ToJson(Report(
            Case("random/1/0", CaseStatus.Fail, 2) with { Inputs = input }, Case("random/1/1", CaseStatus.Pass, 1) with { Inputs = input })));
        var kept = back.Cases.Single(c => c.Id == "random/1/0").Inputs!["input"].ToArray();
        Assert.That(kept[0], Is.EqualTo(3.0));
        Assert.That(double.IsNaN(kept[1]));
        Assert.That(back.Cases.Single(c => c.Id == "random/1/1").Inputs, Is.Null);
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
        Assert.That(pool.ToString(), Is.EqualTo("max_pool2d: 2 ran in float64 (1 passed, 1 failed); situations: nan_rule in 1, tie_policy in 2; 1 skipped: 1 the implementation answered unsupported: no dilation"));
        Assert.That(ReportFormats.ToJson(r), Does.Contain("\"coverage\"").And.Contain("\"tie_policy\": 2"));
        Assert.That(ReportFormats.ToJunit(r), Does.Contain("name=\"coverage.max_pool2d\""));
        Assert.That(HtmlReport.Render(r), Does.Contain("<ul class=\"coverage\"><li>max_pool2d: 2 ran"));
        Assert.That(ReportFormats.FromJson(ReportFormats.ToJson(r)).Coverage, Has.Length.EqualTo(2), "the JSON report still reads back");
    }

    [Test]
    public void Coverage_names_the_values_each_attribute_took_and_the_attributes_that_never_varied()
    {
        static CaseResult Conv(string id, CaseStatus status, string padding, string bias) => Case(id, status, 1) with
        {
            Op = "conv2d",
            AttributeValues = ImmutableDictionary<string, string>.Empty.Add("padding", padding).Add("dilation", "[1, 1]").Add("input bias", bias),
        };
        var r = Report(Conv("a", CaseStatus.Pass, "[0, 0]", "given"), Conv("b", CaseStatus.Fail, "[1, 1]", "given"),
            Conv("c", CaseStatus.Pass, "[0, 0]", "left out"), Conv("d", CaseStatus.Skipped, "[2, 2]", "given"));
        var conv = r.Coverage.Single();
        Assert.That(conv.AttributesText, Is.EqualTo("dilation only [1, 1]; input bias given in 2, left out in 1; padding [0, 0] in 2, [1, 1] in 1"),
            "values counted over the cases that ran; the skipped case's [2, 2] was not exercised");
        Assert.That(ReportFormats.FromJson(ReportFormats.ToJson(r)).Coverage.Single().AttributesText, Is.EqualTo(conv.AttributesText), "a merged report keeps them");
    }

    [Test]
    public void Coverage_of_an_attribute_with_many_values_names_the_commonest_and_counts_the_rest()
    {
        var values = ImmutableDictionary<string, int>.Empty.Add("[1]", 1).Add("[2]", 5).Add("[3]", 2).Add("[4]", 2).Add("[5]", 1).Add("[6]", 1);
        Assert.That(OpCoverage.ValuesText(values), Is.EqualTo("[2] in 5, [3] in 2, [4] in 2, [1] in 1, and 2 more"));
    }
}
