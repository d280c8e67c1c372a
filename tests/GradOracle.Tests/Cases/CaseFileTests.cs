using GradOracle.Cases;

namespace GradOracle.Tests.Cases;

/// <summary>Reading and writing a case file: the same bytes back, the committed schema held, every refusal at its place.</summary>
public class CaseFileTests
{
    private static readonly CaseStore Store = CaseStore.FindFromCheckout(TestContext.CurrentContext.TestDirectory);

    [Test]
    public void A_case_written_and_read_back_is_written_to_the_same_bytes()
    {
        foreach (var path in Store.VerifiedFiles().Take(40))
        {
            var text = File.ReadAllText(path);
            Assert.That(CaseFile.Write(CaseFile.Read(text)), Is.EqualTo(text), path);
        }
    }

    [Test]
    public void Files_that_differ_only_in_libtorchs_measured_difference_hold_the_same_case()
    {
        var text = File.ReadAllText(Store.VerifiedFiles().First(f => File.ReadAllText(f).Contains("max_relative_difference")));
        var other = System.Text.RegularExpressions.Regex.Replace(text, "(\"max_relative_difference\": )[^}]*", "${1}9.5E-17");
        Assert.That(other, Is.Not.EqualTo(text));
        Assert.That(CaseFile.SameCase(text, other), Is.True);
        Assert.That(CaseFile.SameCase(text, text.Replace("\"generator\"", "\"generator \"")), Is.False);
    }

    [Test]
    public void The_reader_requires_each_field_the_committed_schema_requires()
    {
        using var schema = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Store.Root, CaseStore.SchemaFile)));
        var required = schema.RootElement.GetProperty("required").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.That(required, Has.Count.GreaterThan(10));
        var text = File.ReadAllText(Store.VerifiedFiles()[0]);
        foreach (var field in required)
        {
            var broken = System.Text.Json.Nodes.JsonNode.Parse(text)!.AsObject();
            broken.Remove(field);
            var e = Assert.Throws<CaseFormatException>(() => CaseFile.Read(broken.ToJsonString()), field);
            Assert.That(e!.Message, Is.EqualTo($"$: missing required field \"{field}\""));
        }
        Assert.That(schema.RootElement.GetProperty("properties").GetProperty("format").GetProperty("const").GetString(), Is.EqualTo(ReferenceCase.Format));
    }

    [TestCase("extra", "1", "extra: unknown field")]
    [TestCase("format", "\"gradoracle-case-0\"", "format: expected \"gradoracle-case-1\"")]
    [TestCase("nan_rule", "\"sideways\"", "nan_rule: \"sideways\" is not one of propagate, ignore, propagate_first, propagate_split, propagate_none")]
    [TestCase("flags", "[1]", "flags[0]: expected a string, found 1")]
    [TestCase("tolerances", "{\"output\": {\"exact\": false}}", "tolerances.output.exact: expected true")]
    [TestCase("tolerances", "{\"output\": {\"atol\": \"Infinity\", \"rtol\": 0}}", "tolerances.output.atol: expected a non-negative number, found \"Infinity\"")]
    [TestCase("tolerances", "{\"output\": {\"atol\": 1}}", "tolerances.output: missing required field \"rtol\"")]
    [TestCase("grad_output", "{\"shape\": [1], \"data\": [\"nan\"]}", "grad_output.data[0]: expected a number, found \"nan\"; or \"nan\" is not one of NaN, Infinity, -Infinity")]
    [TestCase("grad_output", "{\"shape\": [-1], \"data\": []}", "grad_output.shape[0]: expected a non-negative integer, found -1")]
    public void A_case_that_breaks_the_schema_is_refused_in_the_schemas_terms_at_the_place_it_breaks(string member, string json, string message)
    {
        var broken = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Store.VerifiedFiles()[0]))!.AsObject();
        broken[member] = System.Text.Json.Nodes.JsonNode.Parse(json);
        var e = Assert.Throws<CaseFormatException>(() => CaseFile.Read(broken.ToJsonString()));
        Assert.That(e!.Message, Is.EqualTo(message));
    }

    [TestCase("{}", "$: missing required field \"format\"")]
    [TestCase("[1]", "$: a case is a JSON object")]
    public void Malformed_documents_are_refused_naming_where(string json, string message)
    {
        var e = Assert.Throws<CaseFormatException>(() => CaseFile.Read(json));
        Assert.That(e!.Message, Is.EqualTo(message));
    }

    [Test]
    public void A_bad_number_deep_in_a_case_is_refused_with_its_json_path()
    {
        var text = File.ReadAllText(Store.VerifiedFiles()[0]);
        var broken = text.Replace("\"grad_output\": {\"shape\": [", "\"grad_output\": {\"shape\": [\"x\", ");
        var e = Assert.Throws<CaseFormatException>(() => CaseFile.Read(broken));
        Assert.That(e!.Path, Is.EqualTo("grad_output.shape[0]"));
    }

    [TestCase("\"one\"", "the string \"one\" is not a number")]
    [TestCase("true", "expected a number, found True")]
    [TestCase("[1]", "expected a number, found Array")]
    public void A_bad_element_far_into_a_tensor_is_refused_as_one_near_its_start_would_be(string element, string message)
    {
        // The schema sees each tensor's first elements only; the reader holds the rest to the same rule.
        var c = CaseStore.Load(Store.VerifiedFiles().First(f => CaseStore.Load(f).Inputs["input"].Count > 20));
        var text = CaseFile.Write(c);
        int data = text.IndexOf("\"data\": [", text.IndexOf("\"inputs\"", StringComparison.Ordinal), StringComparison.Ordinal) + "\"data\": [".Length;
        int at = data;
        for (int k = 0; k < 20; k++) at = text.IndexOf(", ", at, StringComparison.Ordinal) + 2;
        var broken = text[..at] + element + text[text.IndexOfAny([',', ']'], at)..];
        var e = Assert.Throws<CaseFormatException>(() => CaseFile.Read(broken));
        Assert.That(e!.Path, Is.EqualTo("inputs.input.data[20]"));
        Assert.That(e.Message, Does.Contain(message));
    }
}
