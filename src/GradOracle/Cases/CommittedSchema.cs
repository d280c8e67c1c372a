using System.Text.Json;
using Json.Schema;

namespace GradOracle.Cases;

/// <summary>
/// One of the project's committed JSON Schemas (a case file's, the protocol's), evaluated in-process by
/// JsonSchema.Net, an implementation of JSON Schema 2020-12 that is not ours. A failure is told in the
/// rule's own terms (what the schema wants at that place, and what it found), at the deepest place it fails.
/// </summary>
public sealed class CommittedSchema
{
    private readonly JsonSchema schema;
    private readonly JsonElement text;

    private CommittedSchema(JsonSchema schema, JsonElement text, string path)
    {
        this.schema = schema;
        this.text = text;
        Path = path;
    }

    /// <summary>The schema file.</summary>
    public string Path { get; }

    /// <summary>The reference-case schema (reference-cases/case.schema.json), built into the library, that every case file is read against.</summary>
    public static CommittedSchema Case { get; } = FromResource(CaseStore.SchemaFile);

    /// <summary>Reads the schema at <paramref name="path"/>; a <see cref="CaseFormatException"/> when it is not a schema.</summary>
    public static CommittedSchema Load(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        return Parse(File.ReadAllText(full), new Uri(full), full);
    }

    private static CommittedSchema FromResource(string name)
    {
        using var stream = typeof(CommittedSchema).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"the library was built without its {name}");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd(), new Uri($"https://gradoracle.invalid/{name}"), name);
    }

    // Each schema in a registry of its own, so that one may be loaded again.
    private static CommittedSchema Parse(string json, Uri baseUri, string path)
    {
        try
        {
            var built = JsonSchema.FromText(json, new BuildOptions { SchemaRegistry = new SchemaRegistry() }, baseUri);
            using var doc = JsonDocument.Parse(json);
            return new CommittedSchema(built, doc.RootElement.Clone(), path);
        }
        catch (Exception e) when (e is JsonException or JsonSchemaException or ArgumentException)
        {
            throw new CaseFormatException(path, $"is not a JSON Schema: {e.Message}");
        }
    }

    /// <summary>What in <paramref name="json"/> breaks the schema, each as "at &lt;pointer&gt;: &lt;rule&gt;"; empty when it conforms.</summary>
    public IReadOnlyList<string> Problems(string json)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { return [$"not JSON: {e.Message}"]; }
        using (doc)
            return [.. Failures(doc.RootElement).Select(f => $"at {(f.At.Length == 0 ? "/" : "/" + string.Join('/', f.At))}: {f.Rule}").Distinct()];
    }

    /// <summary>The first place <paramref name="instance"/> breaks the schema, named by its JSON path ("tolerances.output.atol", "flags[0]"); null when it conforms.</summary>
    public CaseFormatException? FirstProblem(JsonElement instance)
    {
        var failures = Failures(instance);
        if (failures.Count == 0) return null;
        var top = failures[0].At.FirstOrDefault();
        var same = failures.Where(f => f.At.FirstOrDefault() == top).ToList();
        int depth = same.Max(f => f.At.Length);
        var deepest = same.Where(f => f.At.Length == depth).ToList();
        return new CaseFormatException(JsonPath(instance, deepest[0].At), string.Join("; or ", deepest.Select(f => f.Rule).Distinct()));
    }

    private sealed record Failure(string[] At, string Rule, bool UnknownField);


    private List<Failure> Failures(JsonElement instance)
    {
        var result = schema.Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.Hierarchical });
        var failures = new List<Failure>();
        if (!result.IsValid) Collect(result, instance, failures);
        if (!result.IsValid && failures.Count == 0) failures.Add(new Failure([], "does not conform to the schema", false));
        return failures;
    }

    // Only into failed nodes: the branches of an anyOf that passed are no failure, whatever they hold.
    private void Collect(EvaluationResults r, JsonElement instance, List<Failure> into)
    {
        if (r.IsValid) return;
        var at = Segments(r.InstanceLocation.ToString());
        var children = (r.Details ?? []).Where(d => !d.IsValid).ToList();
        foreach (var (keyword, message) in r.Errors ?? new Dictionary<string, string>())
        {
            if (keyword is "oneOf" or "anyOf" && children.Count > 0) continue;
            var rule = SchemaAt(Segments(r.EvaluationPath.ToString()));
            bool unknown = rule.ValueKind == JsonValueKind.False;
            into.Add(new Failure(at, unknown ? "unknown field" : Phrase(keyword, message, rule, At(instance, at)), unknown));
        }
        var branches = children.Select(d => (d, found: Collected(d, instance))).ToList();
        // Of the alternatives of a oneOf or anyOf, one that refuses a member the document has was not the one meant.
        if (branches.Count > 1 && branches.All(b => IsBranch(b.d)) && branches.Any(b => !b.found.Any(f => f.UnknownField)))
            branches.RemoveAll(b => b.found.Any(f => f.UnknownField));
        foreach (var (_, found) in branches) into.AddRange(found);
    }

    private List<Failure> Collected(EvaluationResults r, JsonElement instance)
    {
        var found = new List<Failure>();
        Collect(r, instance, found);
        return found;
    }

    private static bool IsBranch(EvaluationResults r) => Segments(r.EvaluationPath.ToString()) is [.., "oneOf" or "anyOf", _];

    private static string Phrase(string keyword, string fallback, JsonElement rule, JsonElement? value) => keyword switch
    {
        "required" when value is { ValueKind: JsonValueKind.Object } v && rule.TryGetProperty("required", out var names) =>
            $"missing required field \"{names.EnumerateArray().Select(n => n.GetString()!).First(n => !v.TryGetProperty(n, out _))}\"",
        "type" or "minimum" when value is { } v => $"expected {Wanted(rule)}, found {CaseJson.Found(v)}",
        "enum" when value is { } v && rule.TryGetProperty("enum", out var values) =>
            $"{Shown(v)} is not one of {string.Join(", ", values.EnumerateArray().Where(e => e.ValueKind != JsonValueKind.Null).Select(e => e.ValueKind == JsonValueKind.String ? e.GetString() : e.GetRawText()))}",
        "const" when rule.TryGetProperty("const", out var c) => $"expected {c.GetRawText()}",
        "pattern" when value is { } v && rule.TryGetProperty("pattern", out var p) => $"{Shown(v)} does not match the pattern {p.GetString()}",
        _ => fallback,
    };

    /// <summary>What a schema node asks for, in words: "a non-negative integer", "a string or null".</summary>
    private static string Wanted(JsonElement rule)
    {
        var types = !rule.TryGetProperty("type", out var t) ? []
            : t.ValueKind == JsonValueKind.Array ? t.EnumerateArray().Select(x => x.GetString()!).ToArray() : [t.GetString()!];
        bool nonNegative = rule.TryGetProperty("minimum", out var m) && m.GetRawText() == "0";
        string Word(string type) => type switch
        {
            "integer" or "number" when nonNegative => $"a non-negative {type}",
            "integer" or "number" when rule.TryGetProperty("minimum", out var min) => $"a{(type == "integer" ? "n" : "")} {type} >= {min.GetRawText()}",
            "object" or "array" or "integer" => $"an {type}",
            "null" => "null",
            _ => $"a {type}",
        };
        return types.Length == 0 ? "a value the schema allows" : string.Join(" or ", types.Select(Word));
    }

    private static string Shown(JsonElement v) => v.ValueKind == JsonValueKind.String ? CaseJson.String(v.GetString()!) : CaseJson.Found(v);

    /// <summary>
    /// The schema node an evaluation path leads to: keywords and indices walked in the schema's own JSON, "$ref" followed;
    /// a segment the node does not have (JsonSchema.Net names "items" once for the keyword and once for the element) is passed over.
    /// </summary>
    private JsonElement SchemaAt(string[] path)
    {
        var node = text;
        foreach (var seg in path)
        {
            if (seg == "$ref" && node.ValueKind == JsonValueKind.Object && node.TryGetProperty("$ref", out var r) && r.GetString() is { } target && target.StartsWith('#'))
                node = At(text, Segments(target[1..])) ?? node;
            else if (node.ValueKind == JsonValueKind.Object && node.TryGetProperty(seg, out var next)) node = next;
            else if (node.ValueKind == JsonValueKind.Array && int.TryParse(seg, out var i) && i < node.GetArrayLength()) node = node[i];
        }
        return node;
    }

    private static JsonElement? At(JsonElement root, string[] path)
    {
        var node = root;
        foreach (var seg in path)
        {
            if (node.ValueKind == JsonValueKind.Object && node.TryGetProperty(seg, out var next)) node = next;
            else if (node.ValueKind == JsonValueKind.Array && int.TryParse(seg, out var i) && i >= 0 && i < node.GetArrayLength()) node = node[i];
            else return null;
        }
        return node;
    }

    /// <summary>A JSON pointer's place as the readers name it: members joined by '.', array elements as [k], the root "$".</summary>
    private static string JsonPath(JsonElement root, string[] at)
    {
        var path = new System.Text.StringBuilder();
        var node = (JsonElement?)root;
        foreach (var seg in at)
        {
            if (node is { ValueKind: JsonValueKind.Array }) path.Append('[').Append(seg).Append(']');
            else path.Append(path.Length > 0 ? "." : "").Append(seg);
            node = node is { } n ? At(n, [seg]) : null;
        }
        return path.Length == 0 ? "$" : path.ToString();
    }

    private static string[] Segments(string pointer) =>
        pointer.Length == 0 || pointer == "/" ? [] : pointer.TrimStart('/').Split('/').Select(s => s.Replace("~1", "/").Replace("~0", "~")).ToArray();
}
