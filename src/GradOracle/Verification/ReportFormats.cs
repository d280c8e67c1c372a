using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Xml.Linq;

namespace GradOracle.Verification;

/// <summary>Machine-readable forms of a verify report: JSON (mergeable across shards) and JUnit XML.</summary>
public static class ReportFormats
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower), Cases.TensorJsonConverter.Instance },
        IgnoreReadOnlyProperties = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The report as JSON; a failing case keeps its tensors and inputs, so that a merged report still draws its heat maps.</summary>
    public static string ToJson(VerifyReport r)
    {
        var node = JsonSerializer.SerializeToNode(r with { Cases = [.. r.Cases.Select(c => c.Status is CaseStatus.Fail or CaseStatus.Error or CaseStatus.KnownFailure ? c : c with { Tensors = null, Inputs = null })] }, Options)!;
        node["coverage"] = JsonSerializer.SerializeToNode(r.Coverage, Options); // derived from the cases: written for readers, not read back
        return node.ToJsonString(Options);
    }

    /// <summary>Reads a report written by <see cref="ToJson"/>.</summary>
    public static VerifyReport FromJson(string json) =>
        JsonSerializer.Deserialize<VerifyReport>(json, Options) ?? throw new JsonException("empty report");

    /// <summary>Merges shard reports of the same run into one.</summary>
    public static VerifyReport Merge(IReadOnlyList<VerifyReport> shards)
    {
        if (shards.Count == 0) throw new ArgumentException("nothing to merge");
        var first = shards[0];
        if (shards.Any(s => s.Command != first.Command || s.Seed != first.Seed))
            throw new ArgumentException("the reports come from different runs (command or seed differ)");
        return first with
        {
            Shard = string.Join("+", shards.Select(s => s.Shard)),
            Cases = [.. shards.SelectMany(s => s.Cases).OrderBy(c => c.Id, StringComparer.Ordinal)],
            Findings = [.. shards.SelectMany(s => s.Findings).Distinct()],
            Stderr = string.Join("\n", shards.Select(s => s.Stderr).Where(s => s.Length > 0)),
            Restarts = shards.Sum(s => s.Restarts),
            Errors = [.. shards.SelectMany(s => s.Errors).Distinct()],
            Interrupted = shards.Any(s => s.Interrupted),
        };
    }

    /// <summary>The report as JUnit XML (one test case per case; failures, errors and skips with their messages).</summary>
    public static string ToJunit(VerifyReport r)
    {
        var suite = new XElement("testsuite",
            new XAttribute("name", $"gradoracle verify {r.Implementation}"),
            new XAttribute("tests", r.Cases.Length),
            new XAttribute("failures", r.Count(CaseStatus.Fail)),
            new XAttribute("errors", r.Count(CaseStatus.Error)),
            new XAttribute("skipped", r.Count(CaseStatus.Skipped) + r.Count(CaseStatus.KnownFailure)),
            new XAttribute("time", r.Cases.Sum(c => c.Seconds).ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)),
            new XElement("properties",
                new XElement("property", new XAttribute("name", "dtype"), new XAttribute("value", r.Dtype)),
                new XElement("property", new XAttribute("name", "seed"), new XAttribute("value", r.Seed)),
                new XElement("property", new XAttribute("name", "shard"), new XAttribute("value", r.Shard)),
                r.Coverage.Select(c => new XElement("property", new XAttribute("name", $"coverage.{c.Op}"), new XAttribute("value", c.ToString())))),
            r.Cases.Select(c =>
            {
                var tc = new XElement("testcase", new XAttribute("classname", c.Op), new XAttribute("name", c.Id),
                    new XAttribute("time", c.Seconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)));
                var body = Detail(c);
                switch (c.Status)
                {
                    case CaseStatus.Fail: tc.Add(new XElement("failure", new XAttribute("message", c.Summary), body)); break;
                    case CaseStatus.Error: tc.Add(new XElement("error", new XAttribute("message", c.Summary), body)); break;
                    case CaseStatus.Skipped or CaseStatus.KnownFailure: tc.Add(new XElement("skipped", new XAttribute("message", c.Summary))); break;
                }
                return tc;
            }),
            new XElement("system-err", r.Stderr));
        return new XDocument(new XElement("testsuites", suite)).ToString();
    }

    /// <summary>Everything about one case as text: differences, diagnosis, notes, reproduction.</summary>
    public static string Detail(CaseResult c)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"{c.Id} ({(c.Attributes.Length == 0 ? c.Op : $"{c.Op} {c.Attributes}")}): {c.Status.ToString().ToUpperInvariant()}: {c.Summary}");
        foreach (var d in c.Diffs)
        {
            sb.AppendLine($"  {(d.Problem ?? $"{d.Tensor}: {d.Count} of {d.Total} elements differ{(d.Where is null ? "" : $", all within {d.Where}")}")}");
            foreach (var w in d.Worst) sb.AppendLine($"    {w}");
        }
        foreach (var v in c.Conventions) sb.AppendLine($"  {(v.Valid ? "convention" : "outside the valid set")}: {v.Text}");
        foreach (var d in c.Diagnosis)
            sb.AppendLine(d == Diagnosis.Unexplained || d.StartsWith(Diagnosis.ShapeFact, StringComparison.Ordinal) || d.StartsWith("invariant broken", StringComparison.Ordinal)
                ? $"  {d}" : $"  likely cause: {d}");
        foreach (var n in c.Notes) sb.AppendLine($"  note: {n}");
        sb.AppendLine($"  reproduce: {c.Repro}");
        return sb.ToString().TrimEnd();
    }
}
