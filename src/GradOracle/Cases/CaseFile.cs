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
        Line(1, $"\"attrs\": {{{string.Join(", ", c.Attrs.Select(a => $"{Q(a.Key)}: {CaseJson.Value(a.Value)}"))}}},");
        Line(1, "\"inputs\": {");
        Members(c.Inputs.Items.Select(i => (i.Name, CaseJson.Tensor(i.Value))), 2);
        Line(1, "},");
        Line(1, $"\"grad_output\": {CaseJson.Tensor(c.GradOutput)},");
        Line(1, "\"expected\": {");
        Line(2, $"\"output\": {CaseJson.Tensor(c.ExpectedOutput)},");
        Line(2, "\"grads\": {");
        Members(c.ExpectedGrads.Items.Select(g => (g.Name, CaseJson.Tensor(g.Value))), 3);
        Line(2, c.ExpectedIndices is null ? "}" : "},");
        if (c.ExpectedIndices is not null) Line(2, $"\"indices\": {CaseJson.Tensor(c.ExpectedIndices)}");
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

    /// <summary>The fields every case must have (the schema's "required" list).</summary>
    public static IReadOnlyList<string> RequiredFields { get; } =
        ["format", "id", "op", "description", "flags", "tie_policy", "nan_rule", "attrs", "inputs", "grad_output", "expected", "tolerances", "provenance"];

    /// <summary>Reads and validates a case; a <see cref="CaseFormatException"/> names the JSON path of the first problem.</summary>
    public static ReferenceCase Read(string json)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new CaseFormatException("$", $"not valid JSON: {e.Message}"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new CaseFormatException("$", "a case is a JSON object");
            foreach (var f in RequiredFields) CaseJson.Required(root, f, "$");
            var known = RequiredFields.ToHashSet();
            foreach (var p in root.EnumerateObject())
                if (!known.Contains(p.Name)) throw new CaseFormatException($"$.{p.Name}", "unknown field");
            string Str(JsonElement e, string path) => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new CaseFormatException(path, "expected a string");
            string? StrOrNull(JsonElement e, string path) => e.ValueKind == JsonValueKind.Null ? null : Str(e, path);

            if (Str(root.GetProperty("format"), "format") != ReferenceCase.Format)
                throw new CaseFormatException("format", $"expected \"{ReferenceCase.Format}\"");
            var id = Str(root.GetProperty("id"), "id");
            var op = Str(root.GetProperty("op"), "op");
            if (!id.StartsWith(op + "/", StringComparison.Ordinal) || id.Length == op.Length + 1 || id.AsSpan(op.Length + 1).ContainsAny("/\\ "))
                throw new CaseFormatException("id", $"\"{id}\" must be \"{op}/<name>\" with no further '/', '\\' or spaces");
            var flagsEl = root.GetProperty("flags");
            if (flagsEl.ValueKind != JsonValueKind.Array) throw new CaseFormatException("flags", "expected an array of strings");
            var flags = flagsEl.EnumerateArray().Select((f, i) => Str(f, $"flags[{i}]")).ToImmutableArray();
            var tie = StrOrNull(root.GetProperty("tie_policy"), "tie_policy");
            var nan = StrOrNull(root.GetProperty("nan_rule"), "nan_rule");
            if (tie is not null && !PoolingRuleNames.TiePolicies.Contains(tie)) throw new CaseFormatException("tie_policy", $"\"{tie}\" is not one of {string.Join(", ", PoolingRuleNames.TiePolicies)}");
            if (nan is not null && !PoolingRuleNames.NanRules.Contains(nan)) throw new CaseFormatException("nan_rule", $"\"{nan}\" is not one of {string.Join(", ", PoolingRuleNames.NanRules)}");
            var attrs = CaseJson.ReadAttributes(root.GetProperty("attrs"), "attrs");
            var inputs = Named(root.GetProperty("inputs"), "inputs");
            var gradOutput = CaseJson.ReadTensor(root.GetProperty("grad_output"), "grad_output");
            var expected = root.GetProperty("expected");
            var output = CaseJson.ReadTensor(CaseJson.Required(expected, "output", "expected"), "expected.output");
            var grads = Named(CaseJson.Required(expected, "grads", "expected"), "expected.grads");
            var indices = expected.TryGetProperty("indices", out var ix) ? CaseJson.ReadTensor(ix, "expected.indices") : null;
            var tolerances = root.GetProperty("tolerances");
            if (tolerances.ValueKind != JsonValueKind.Object) throw new CaseFormatException("tolerances", "expected an object");
            var tol = tolerances.EnumerateObject().Select(t => KeyValuePair.Create(t.Name, Tolerance(t.Value, $"tolerances.{t.Name}"))).ToImmutableArray();
            var c = new ReferenceCase(id, op, Str(root.GetProperty("description"), "description"), flags, tie, nan, attrs, inputs, gradOutput,
                output, grads, indices, tol, Provenance(root.GetProperty("provenance")));
            foreach (var (key, _) in c.ExpectedTensors())
                if (!tol.Any(t => t.Key == key)) throw new CaseFormatException("tolerances", $"no tolerance for expected tensor \"{key}\"");
            foreach (var t in tol)
                if (!c.ExpectedTensors().Any(e => e.Key == t.Key)) throw new CaseFormatException($"tolerances.{t.Key}", "names no expected tensor");
            return c;
        }
    }

    private static NamedTensors Named(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new CaseFormatException(path, "expected an object of named tensors");
        return new NamedTensors(e.EnumerateObject().Select(p => (p.Name, CaseJson.ReadTensor(p.Value, $"{path}.{p.Name}"))).ToArray());
    }

    private static CaseTolerance Tolerance(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new CaseFormatException(path, "expected {\"exact\": true} or {\"atol\": a, \"rtol\": r}");
        if (e.TryGetProperty("exact", out var ex))
            return ex.ValueKind == JsonValueKind.True ? CaseTolerance.ExactMatch : throw new CaseFormatException(path + ".exact", "must be true when present");
        double a = CaseJson.ReadNumber(CaseJson.Required(e, "atol", path), path + ".atol"), r = CaseJson.ReadNumber(CaseJson.Required(e, "rtol", path), path + ".rtol");
        if (!(a >= 0) || !(r >= 0)) throw new CaseFormatException(path, "atol and rtol must be non-negative numbers");
        return new CaseTolerance(false, a, r);
    }

    private static CaseProvenance Provenance(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new CaseFormatException("provenance", "expected an object");
        var gen = CaseJson.Required(e, "generator", "provenance");
        var fd = CaseJson.Required(e, "finite_differences", "provenance");
        var lt = CaseJson.Required(e, "libtorch", "provenance");
        string? S(JsonElement x) => x.ValueKind == JsonValueKind.String ? x.GetString() : null;
        return new CaseProvenance(S(gen) ?? throw new CaseFormatException("provenance.generator", "expected a string"),
            CaseJson.ReadNumber(CaseJson.Required(fd, "max_abs_error", "provenance.finite_differences"), "provenance.finite_differences.max_abs_error"),
            CaseJson.Required(fd, "elements", "provenance.finite_differences").GetInt32(),
            CaseJson.Required(fd, "kinks", "provenance.finite_differences").GetInt32(),
            lt.TryGetProperty("version", out var v) ? S(v) : null,
            lt.TryGetProperty("max_relative_difference", out var d) ? CaseJson.ReadNumber(d, "provenance.libtorch.max_relative_difference") : null,
            lt.TryGetProperty("none", out var n) ? S(n) : null);
    }
}
