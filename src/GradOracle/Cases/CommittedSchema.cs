using System.Text.Json;
using Json.Schema;

namespace GradOracle.Cases;

/// <summary>
/// One of the project's committed JSON Schemas (a case file's, the protocol's), evaluated in-process by
/// JsonSchema.Net, an implementation of JSON Schema 2020-12 that is not ours.
/// </summary>
public sealed class CommittedSchema
{
    private readonly JsonSchema schema;

    private CommittedSchema(JsonSchema schema, string path)
    {
        this.schema = schema;
        Path = path;
    }

    /// <summary>The schema file.</summary>
    public string Path { get; }

    /// <summary>Reads the schema at <paramref name="path"/>, in a registry of its own (a schema may be loaded again); a <see cref="CaseFormatException"/> when it is not a schema.</summary>
    public static CommittedSchema Load(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        try { return new CommittedSchema(JsonSchema.FromText(File.ReadAllText(full), new BuildOptions { SchemaRegistry = new SchemaRegistry() }, new Uri(full)), full); }
        catch (Exception e) when (e is JsonException or JsonSchemaException or ArgumentException)
        {
            throw new CaseFormatException(full, $"is not a JSON Schema: {e.Message}");
        }
    }

    /// <summary>What in <paramref name="json"/> breaks the schema, each as "at &lt;pointer&gt;: &lt;rule&gt;"; empty when it conforms.</summary>
    public IReadOnlyList<string> Problems(string json)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { return [$"not JSON: {e.Message}"]; }
        using (doc)
        {
            var result = schema.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
            if (result.IsValid) return [];
            var problems = (result.Details ?? [])
                .Where(d => d.Errors is { Count: > 0 })
                .SelectMany(d => d.Errors!.Select(e => $"at {Pointer(d.InstanceLocation.ToString())}: {e.Value}"))
                .Distinct()
                .ToList();
            return problems.Count > 0 ? problems : ["does not conform to the schema"];
        }
    }

    private static string Pointer(string location) => location.Length == 0 ? "/" : location;
}
