using System.Collections.Immutable;
using System.Text;
using System.Text.Json;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Cases;

/// <summary>Writes and reads reference cases as JSON, deterministically: the same case gives the same bytes.</summary>
public static class CaseFile
{
    /// <summary>The case as JSON text (two-space indent, "\n" line ends, one line per tensor).</summary>
    public static string Write(ReferenceCase c)
    {
        var sb = new StringBuilder();
        void Line(int indent, string text) => sb.Append(' ', indent * 2).Append(text).Append('\n');
        string Q(string s) => CaseJson.String(s);
        string NullOr(string? s) => s is null ? "null" : Q(s);

        Line(0, "{");
        Line(1, $"\"format\": {Q(ReferenceCase.Format)},");
        Line(1, $"\"id\": {Q(c.Id)},");
        Line(1, $"\"op\": {Q(c.Op)},");
        Line(1, $"\"description\": {Q(c.Description)},");
        Line(1, $"\"flags\": [{string.Join(", ", c.Flags.Select(Q))}],");
        Line(1, $"\"tie_policy\": {NullOr(c.TiePolicy)},");
        Line(1, $"\"nan_rule\": {NullOr(c.NanRule)},");
        Line(1, $"\"attrs\": {{{string.Join(", ", c.Attributes.Select(a => $"{Q(a.Key)}: {CaseJson.Value(a.Value)}"))}}},");
        Line(1, "\"inputs\": {");
        Members(c.Inputs.Items.Select(i => (i.Name, TensorJsonConverter.Text(i.Value))), 2);
        Line(1, "},");
        Line(1, $"\"grad_output\": {TensorJsonConverter.Text(c.GradOutput)},");
        Line(1, "\"expected\": {");
        Line(2, $"\"output\": {TensorJsonConverter.Text(c.ExpectedOutput)},");
        Line(2, "\"grads\": {");
        Members(c.ExpectedGrads.Items.Select(g => (g.Name, TensorJsonConverter.Text(g.Value))), 3);
        Line(2, c.ExpectedIndices is null && c.ExpectedExtras is null ? "}" : "},");
        if (c.ExpectedIndices is not null) Line(2, $"\"indices\": {TensorJsonConverter.Text(c.ExpectedIndices)}" + (c.ExpectedExtras is null ? "" : ","));
        if (c.ExpectedExtras is not null)
        {
            Line(2, "\"extras\": {");
            Members(c.ExpectedExtras.Items.Select(g => (g.Name, TensorJsonConverter.Text(g.Value))), 3);
            Line(2, "}");
        }
        Line(1, "},");
        Line(1, "\"tolerances\": {");
        Members(c.Tolerances.Select(t => (t.Key, t.Value.Exact
            ? "{\"exact\": true}"
            : $"{{\"atol\": {CaseJson.Number(t.Value.Atol)}, \"rtol\": {CaseJson.Number(t.Value.Rtol)}}}")), 2);
        Line(1, "},");
        var p = c.Provenance;
        Line(1, "\"provenance\": {");
        Line(2, $"\"generator\": {Q(p.Generator)},");
        Line(2, $"\"finite_differences\": {{\"max_abs_error\": {CaseJson.Number(p.FiniteDifferenceMaxError)}, \"elements\": {p.FiniteDifferenceElements}, \"kinks\": {p.FiniteDifferenceKinks}}},");
        Line(2, "\"libtorch\": " + (p.LibtorchMaxRelativeDifference is { } diff
            ? $"{{\"version\": {NullOr(p.LibtorchVersion)}, \"max_relative_difference\": {CaseJson.Number(diff)}}}"
            : $"{{\"version\": {NullOr(p.LibtorchVersion)}, \"none\": {NullOr(p.LibtorchNone)}}}"));
        Line(1, "}");
        Line(0, "}");
        return sb.ToString();

        void Members(IEnumerable<(string Name, string Json)> members, int indent)
        {
            var list = members.ToList();
            for (int i = 0; i < list.Count; i++) Line(indent, $"{Q(list[i].Name)}: {list[i].Json}{(i < list.Count - 1 ? "," : "")}");
        }
    }

    /// <summary>
    /// Whether two case files hold the same case: the same text except for libtorch's measured difference in the
    /// provenance, which depends on the machine that generated it (libtorch picks its vector kernels by CPU).
    /// </summary>
    public static bool SameCase(string a, string b) => a == b || Measured.Replace(a, "") == Measured.Replace(b, "");

    private static readonly System.Text.RegularExpressions.Regex Measured =
        new("\"max_relative_difference\": [^}]*", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>
    /// Reads and validates a case; any content that breaks the format (malformed JSON, a member of the wrong
    /// JSON kind, a string the JSON cannot decode, a tensor past <see cref="Limits"/>) is a
    /// <see cref="CaseFormatException"/> naming the JSON path of the first problem and the rule.
    /// </summary>
    public static ReferenceCase Read(string json)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new CaseFormatException("$", $"not valid JSON: {e.Message}"); }
        using (doc)
        {
            // CaseJson's readers are shared with the protocol and may assume a member's kind: a wrong kind that
            // slips past the checks below is still this file's format error, not a crash.
            try { return Read(doc.RootElement); }
            catch (Exception e) when (e is InvalidOperationException or FormatException)
            {
                throw new CaseFormatException("$", $"a member has the wrong JSON kind: {e.Message}");
            }
        }
    }

    /// <summary>How many elements of each tensor's data the schema is evaluated on.</summary>
    private const int SchemaElements = 8;

    /// <summary>
    /// The document with each tensor's data cut to its first <see cref="SchemaElements"/> elements. Evaluating the
    /// schema costs some 20 µs per value, most of a large case's reading; the elements past the cut get the same rule
    /// (a number, or "NaN", "Infinity", "-Infinity") from the typed reader, which reads every one.
    /// </summary>
    private static JsonDocument Skeleton(JsonElement root)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer)) Copy(root, w);
        return JsonDocument.Parse(buffer.WrittenMemory);

        static void Copy(JsonElement e, Utf8JsonWriter w)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                    w.WriteStartObject();
                    bool tensor = e.TryGetProperty("shape", out _);
                    foreach (var p in e.EnumerateObject())
                    {
                        w.WritePropertyName(p.Name);
                        if (tensor && p.Name == "data" && p.Value.ValueKind == JsonValueKind.Array)
                        {
                            w.WriteStartArray();
                            foreach (var v in p.Value.EnumerateArray().Take(SchemaElements)) v.WriteTo(w);
                            w.WriteEndArray();
                        }
                        else Copy(p.Value, w);
                    }
                    w.WriteEndObject();
                    break;
                case JsonValueKind.Array:
                    w.WriteStartArray();
                    foreach (var v in e.EnumerateArray()) Copy(v, w);
                    w.WriteEndArray();
                    break;
                default:
                    e.WriteTo(w);
                    break;
            }
        }
    }

    private static ReferenceCase Read(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new CaseFormatException("$", "a case is a JSON object");
        RefuseAmbiguousText(root, "$");
        Place(root);
        using (var skeleton = Skeleton(root))
            if (CommittedSchema.Case.FirstProblem(skeleton.RootElement) is { } broken) throw broken;

        // The schema holds from here: members are there and of their kinds.
        var id = Str(root, "id");
        var op = Str(root, "op");
        var flags = root.GetProperty("flags").EnumerateArray().Select(f => f.GetString()!).ToImmutableArray();
        var attrs = CaseJson.ReadAttributes(root.GetProperty("attrs"), "attrs");
        var inputs = Named(root.GetProperty("inputs"), "inputs");
        var gradOutput = ReadTensor(root.GetProperty("grad_output"), "grad_output");
        var expected = root.GetProperty("expected");
        var output = ReadTensor(expected.GetProperty("output"), "expected.output");
        var grads = Named(expected.GetProperty("grads"), "expected.grads");
        var indices = expected.TryGetProperty("indices", out var ix) ? ReadTensor(ix, "expected.indices") : null;
        var extras = expected.TryGetProperty("extras", out var ex) ? Named(ex, "expected.extras") : null;
        var tol = root.GetProperty("tolerances").EnumerateObject().Select(t => KeyValuePair.Create(t.Name, Tolerance(t.Value, $"tolerances.{t.Name}"))).ToImmutableArray();
        var c = new ReferenceCase(id, op, Str(root, "description"), flags, StrOrNull(root, "tie_policy"), StrOrNull(root, "nan_rule"), attrs, inputs, gradOutput,
            output, grads, indices, tol, Provenance(root.GetProperty("provenance"))) { ExpectedExtras = extras };
        foreach (var (key, _) in c.ExpectedTensors())
            if (!tol.Any(t => t.Key == key)) throw new CaseFormatException("tolerances", $"no tolerance for expected tensor \"{key}\"");
        foreach (var t in tol)
            if (!c.ExpectedTensors().Any(e => e.Key == t.Key)) throw new CaseFormatException($"tolerances.{t.Key}", "names no expected tensor");
        return c;
    }

    /// <summary>
    /// The op and the id name a file's place in a store, so they are held to the store's rule before anything else:
    /// the op lowercase letters, digits and '_', the id "&lt;op&gt;/&lt;name&gt;" with no further separator.
    /// </summary>
    private static void Place(JsonElement root)
    {
        if (!root.TryGetProperty("op", out var opEl) || opEl.ValueKind != JsonValueKind.String
            || !root.TryGetProperty("id", out var idEl) || idEl.ValueKind != JsonValueKind.String) return;
        string op = opEl.GetString()!, id = idEl.GetString()!;
        if (!IsOpName(op))
            throw new CaseFormatException("op", $"{CaseJson.String(op)} must be lowercase letters, digits and '_' (the schema's id pattern)");
        if (!id.StartsWith(op + "/", StringComparison.Ordinal) || id.Length == op.Length + 1 || id.AsSpan(op.Length + 1).ContainsAny("/\\ "))
            throw new CaseFormatException("id", $"{CaseJson.String(id)} must be \"{op}/<name>\" with no further '/', '\\' or spaces");
    }

    private static bool IsOpName(string op) => op.Length > 0 && op.All(ch => ch is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_');

    /// <summary>Whether <paramref name="id"/> is "&lt;op&gt;/&lt;name&gt;" by the schema's pattern, and so names a file inside a store.</summary>
    internal static bool IsId(string id) =>
        id.IndexOf('/') is var slash and > 0 && IsOpName(id[..slash]) && slash < id.Length - 1 && !id.AsSpan(slash + 1).ContainsAny("/\\ ");

    private static string Str(JsonElement parent, string name) => parent.GetProperty(name).GetString()!;

    private static string? StrOrNull(JsonElement parent, string name) => parent.GetProperty(name) is { ValueKind: not JsonValueKind.Null } e ? e.GetString() : null;

    private static string Member(string path, string name) => path == "$" ? name : $"{path}.{name}";

    /// <summary>
    /// Refuses what readers would understand differently: a string or member name with a lone surrogate
    /// escape ("\ud800", which no UTF-8 reader can decode) and a member named twice in one object (System.Text.Json
    /// keeps the first, Python's json the last).
    /// </summary>
    private static void RefuseAmbiguousText(JsonElement e, string path)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                var names = new HashSet<string>(StringComparer.Ordinal);
                int i = 0;
                foreach (var p in e.EnumerateObject())
                {
                    string name;
                    try { name = p.Name; }
                    catch (InvalidOperationException) { throw new CaseFormatException(path, $"the name of member {i} holds a lone surrogate (\\ud800-\\udfff without its pair): not valid Unicode"); }
                    if (!names.Add(name)) throw new CaseFormatException(Member(path, name), "named twice in one object (JSON readers disagree on which one counts)");
                    RefuseAmbiguousText(p.Value, Member(path, name));
                    i++;
                }
                break;
            case JsonValueKind.Array:
                int k = 0;
                foreach (var x in e.EnumerateArray()) RefuseAmbiguousText(x, $"{path}[{k++}]");
                break;
            case JsonValueKind.String:
                try { e.GetString(); }
                catch (InvalidOperationException) { throw new CaseFormatException(path, "holds a lone surrogate (\\ud800-\\udfff without its pair): not valid Unicode"); }
                break;
        }
    }

    private static NamedTensors Named(JsonElement e, string path) =>
        new(e.EnumerateObject().Select(p => (p.Name, ReadTensor(p.Value, $"{path}.{p.Name}"))).ToArray());

    private static Tensor ReadTensor(JsonElement e, string path)
    {
        // Shape refuses a tensor past the element limit before anything is allocated; here that is the file's fault.
        try { return CaseJson.ReadTensor(e, path); }
        catch (ParameterException x) { throw new CaseFormatException(path + ".shape", x.Message); }
    }

    // The schema allows any non-negative JSON number; one past float64's range is refused here.
    private static CaseTolerance Tolerance(JsonElement e, string path) => e.TryGetProperty("exact", out _) ? CaseTolerance.ExactMatch
        : new CaseTolerance(false, CaseJson.ReadNumber(e.GetProperty("atol"), $"{path}.atol"), CaseJson.ReadNumber(e.GetProperty("rtol"), $"{path}.rtol"));

    private static CaseProvenance Provenance(JsonElement e)
    {
        var fd = e.GetProperty("finite_differences");
        var lt = e.GetProperty("libtorch");
        return new CaseProvenance(Str(e, "generator"),
            CaseJson.ReadNumber(fd.GetProperty("max_abs_error"), "provenance.finite_differences.max_abs_error"),
            Count(fd, "elements", "provenance.finite_differences"),
            Count(fd, "kinks", "provenance.finite_differences"),
            StrOrNull(lt, "version"),
            lt.TryGetProperty("max_relative_difference", out var d) ? CaseJson.ReadNumber(d, "provenance.libtorch.max_relative_difference") : null,
            lt.TryGetProperty("none", out var n) && n.ValueKind != JsonValueKind.Null ? n.GetString() : null);
    }

    // The schema's integers have no upper bound; a count is an int.
    private static int Count(JsonElement parent, string name, string path) =>
        parent.GetProperty(name).TryGetInt32(out var v) ? v
            : throw new CaseFormatException($"{path}.{name}", $"expected a non-negative integer (at most {int.MaxValue}), found {CaseJson.Found(parent.GetProperty(name))}");
}
