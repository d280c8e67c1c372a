using GradOracle.Cases;

namespace GradOracle.Tests.Cases;

/// <summary>The committed schemas, evaluated by JsonSchema.Net.</summary>
public class CommittedSchemaTests
{
    private static readonly CaseStore Store = CaseStore.FindFromCheckout(TestContext.CurrentContext.TestDirectory);

    [Test]
    public void Every_case_validates_against_the_json_schema_with_an_independent_validator()
    {
        var schema = CommittedSchema.Load(Path.Combine(Store.Root, CaseStore.SchemaFile));
        var bad = Store.VerifiedFiles().Select(f => (f, p: schema.Problems(File.ReadAllText(f)))).Where(x => x.p.Count > 0).ToList();
        Assert.That(Store.VerifiedFiles(), Has.Count.EqualTo(301));
        Assert.That(bad, Is.Empty, string.Join("\n", bad.Select(x => $"{x.f}: {string.Join("; ", x.p)}")));
    }

    [Test]
    public void A_document_that_breaks_the_schema_is_reported_at_the_place_it_breaks()
    {
        var schema = CommittedSchema.Load(Path.Combine(Store.Root, CaseStore.SchemaFile));
        var text = File.ReadAllText(Store.VerifiedFiles()[0]);
        var broken = System.Text.Json.Nodes.JsonNode.Parse(text)!;
        broken["tie_policy"] = "sideways";
        var problems = schema.Problems(broken.ToJsonString());
        Assert.That(problems, Has.Some.StartsWith("at /tie_policy: "), string.Join("; ", problems));
        Assert.That(schema.Problems("{\"format\": 1"), Has.Some.StartsWith("not JSON"));
    }
}
