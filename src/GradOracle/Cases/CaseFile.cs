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
        Line(2, c.ExpectedIndices is null ? "}" : "},");
        if (c.ExpectedIndices is not null) Line(2, $"\"indices\": {TensorJsonConverter.Text(c.ExpectedIndices)}");
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

    /// <summary>The fields every case must have (the schema's "required" list).</summary>
    public static IReadOnlyList<string> RequiredFields { get; } =
        ["format", "id", "op", "description", "flags", "tie_policy", "nan_rule", "attrs", "inputs", "grad_output", "expected", "tolerances", "provenance"];

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

    private static ReferenceCase Read(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new CaseFormatException("$", "a case is a JSON object");
        RefuseAmbiguousText(root, "$");
        foreach (var f in RequiredFields) CaseJson.Required(root, f, "$");
        OnlyFields(root, "$", RequiredFields, "unknown field");

        if (Str(root.GetProperty("format"), "format") != ReferenceCase.Format)
            throw new CaseFormatException("format", $"expected \"{ReferenceCase.Format}\"");
        var id = Str(root.GetProperty("id"), "id");
        var op = Str(root.GetProperty("op"), "op");
        if (!IsOpName(op))
            throw new CaseFormatException("op", $"{CaseJson.String(op)} must be lowercase letters, digits and '_' (the schema's id pattern)");
        if (!id.StartsWith(op + "/", StringComparison.Ordinal) || id.Length == op.Length + 1 || id.AsSpan(op.Length + 1).ContainsAny("/\\ "))
            throw new CaseFormatException("id", $"{CaseJson.String(id)} must be \"{op}/<name>\" with no further '/', '\\' or spaces");
        var flagsEl = root.GetProperty("flags");
        if (flagsEl.ValueKind != JsonValueKind.Array) throw new CaseFormatException("flags", "expected an array of strings");
        var flags = flagsEl.EnumerateArray().Select((f, i) => Str(f, $"flags[{i}]")).ToImmutableArray();
        var tie = StrOrNull(root.GetProperty("tie_policy"), "tie_policy");
        var nan = StrOrNull(root.GetProperty("nan_rule"), "nan_rule");
        if (tie is not null && !PoolingRuleNames.TiePolicies.Contains(tie)) throw new CaseFormatException("tie_policy", $"{CaseJson.String(tie)} is not one of {string.Join(", ", PoolingRuleNames.TiePolicies)}");
        if (nan is not null && !PoolingRuleNames.NanRules.Contains(nan)) throw new CaseFormatException("nan_rule", $"{CaseJson.String(nan)} is not one of {string.Join(", ", PoolingRuleNames.NanRules)}");
        var attrs = CaseJson.ReadAttributes(root.GetProperty("attrs"), "attrs");
        var inputs = Named(root.GetProperty("inputs"), "inputs");
        var gradOutput = ReadTensor(root.GetProperty("grad_output"), "grad_output");
        var expected = Object(root.GetProperty("expected"), "expected");
        OnlyFields(expected, "expected", ExpectedFields, "unknown field (expected holds output, grads and, for max pooling, indices)");
        var output = ReadTensor(CaseJson.Required(expected, "output", "expected"), "expected.output");
        var grads = Named(CaseJson.Required(expected, "grads", "expected"), "expected.grads");
        var indices = expected.TryGetProperty("indices", out var ix) ? ReadTensor(ix, "expected.indices") : null;
        var tolerances = Object(root.GetProperty("tolerances"), "tolerances");
        var tol = tolerances.EnumerateObject().Select(t => KeyValuePair.Create(t.Name, Tolerance(t.Value, $"tolerances.{t.Name}"))).ToImmutableArray();
        var c = new ReferenceCase(id, op, Str(root.GetProperty("description"), "description"), flags, tie, nan, attrs, inputs, gradOutput,
            output, grads, indices, tol, Provenance(root.GetProperty("provenance")));
        foreach (var (key, _) in c.ExpectedTensors())
            if (!tol.Any(t => t.Key == key)) throw new CaseFormatException("tolerances", $"no tolerance for expected tensor \"{key}\"");
        foreach (var t in tol)
            if (!c.ExpectedTensors().Any(e => e.Key == t.Key)) throw new CaseFormatException($"tolerances.{t.Key}", "names no expected tensor");
        return c;
    }

    private static readonly string[] ExpectedFields = ["output", "grads", "indices"];
    private static readonly string[] TensorFields = ["shape", "data"];

    private static bool IsOpName(string op) => op.Length > 0 && op.All(ch => ch is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_');

    /// <summary>Whether <paramref name="id"/> is "&lt;op&gt;/&lt;name&gt;" by the schema's pattern, and so names a file inside a store.</summary>
    internal static bool IsId(string id) =>
        id.IndexOf('/') is var slash and > 0 && IsOpName(id[..slash]) && slash < id.Length - 1 && !id.AsSpan(slash + 1).ContainsAny("/\\ ");

    private static string Str(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new CaseFormatException(path, $"expected a string, found {Found(e)}");

    private static string? StrOrNull(JsonElement e, string path) => e.ValueKind == JsonValueKind.Null ? null : Str(e, path);

    private static JsonElement Object(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.Object ? e : throw new CaseFormatException(path, $"expected an object, found {Found(e)}");

    /// <summary>What a member holds, for messages: its JSON text when short, else its kind.</summary>
    private static string Found(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object or JsonValueKind.Array => $"an {e.ValueKind.ToString().ToLowerInvariant()}",
        _ when e.GetRawText() is { Length: <= 40 } raw => raw,
        _ => $"a long {e.ValueKind.ToString().ToLowerInvariant()}",
    };

    private static void OnlyFields(JsonElement e, string path, IReadOnlyCollection<string> known, string rule)
    {
        foreach (var p in e.EnumerateObject())
            if (!known.Contains(p.Name)) throw new CaseFormatException(Member(path, p.Name), rule);
    }

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

    private static NamedTensors Named(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new CaseFormatException(path, "expected an object of named tensors");
        return new NamedTensors(e.EnumerateObject().Select(p => (p.Name, ReadTensor(p.Value, $"{path}.{p.Name}"))).ToArray());
    }

    private static Tensor ReadTensor(JsonElement e, string path)
    {
        if (e.ValueKind == JsonValueKind.Object) OnlyFields(e, path, TensorFields, "unknown field (a tensor is {\"shape\": [...], \"data\": [...]})");
        // Shape refuses a tensor past the element limit before anything is allocated; here that is the file's fault.
        try { return CaseJson.ReadTensor(e, path); }
        catch (ParameterException x) { throw new CaseFormatException(path + ".shape", x.Message); }
    }

    private static CaseTolerance Tolerance(JsonElement e, string path)
    {
        const string Rule = "a tolerance is {\"exact\": true} or {\"atol\": a, \"rtol\": r}";
        if (e.ValueKind != JsonValueKind.Object) throw new CaseFormatException(path, $"expected an object: {Rule}");
        bool exact = e.TryGetProperty("exact", out var ex);
        OnlyFields(e, path, exact ? ["exact"] : ["atol", "rtol"], $"unknown field: {Rule}");
        if (exact) return ex.ValueKind == JsonValueKind.True ? CaseTolerance.ExactMatch : throw new CaseFormatException(path + ".exact", "must be true when present");
        return new CaseTolerance(false, Bound(e, "atol", path), Bound(e, "rtol", path));
    }

    /// <summary>atol or rtol: finite and non-negative, since an infinite or NaN bound would pass any value and a negative one none.</summary>
    private static double Bound(JsonElement tolerance, string name, string path)
    {
        var v = CaseJson.ReadNumber(CaseJson.Required(tolerance, name, path), $"{path}.{name}");
        return double.IsFinite(v) && v >= 0 ? v
            : throw new CaseFormatException($"{path}.{name}", $"must be a finite number >= 0, found {CaseJson.Number(v)} " +
                (v < 0 ? "(a negative tolerance passes nothing)" : "(an infinite or NaN tolerance would pass any value)"));
    }

    private static CaseProvenance Provenance(JsonElement e)
    {
        Object(e, "provenance");
        var gen = CaseJson.Required(e, "generator", "provenance");
        var fd = Object(CaseJson.Required(e, "finite_differences", "provenance"), "provenance.finite_differences");
        var lt = Object(CaseJson.Required(e, "libtorch", "provenance"), "provenance.libtorch");
        return new CaseProvenance(Str(gen, "provenance.generator"),
            CaseJson.ReadNumber(CaseJson.Required(fd, "max_abs_error", "provenance.finite_differences"), "provenance.finite_differences.max_abs_error"),
            Count(fd, "elements", "provenance.finite_differences"),
            Count(fd, "kinks", "provenance.finite_differences"),
            StrOrNull(CaseJson.Required(lt, "version", "provenance.libtorch"), "provenance.libtorch.version"),
            lt.TryGetProperty("max_relative_difference", out var d) ? CaseJson.ReadNumber(d, "provenance.libtorch.max_relative_difference") : null,
            lt.TryGetProperty("none", out var n) ? StrOrNull(n, "provenance.libtorch.none") : null);
    }

    private static int Count(JsonElement parent, string name, string path)
    {
        var e = CaseJson.Required(parent, name, path);
        return e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var v) && v >= 0 ? v
            : throw new CaseFormatException($"{path}.{name}", $"expected a non-negative integer (at most {int.MaxValue}), found {Found(e)}");
    }
}
