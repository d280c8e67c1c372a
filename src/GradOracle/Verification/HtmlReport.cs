using System.Globalization;
using System.Net;
using System.Text;
using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>
/// One self-contained HTML page (no network: inline CSS, no scripts or external assets): per failing case
/// the diagnosis, the reproduction command, and heat maps of expected, actual and difference for each 2-D
/// slice of each differing tensor.
/// </summary>
public static class HtmlReport
{
    /// <summary>The page.</summary>
    public static string Render(VerifyReport r)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>GradOracle verify: ").Append(E(r.Implementation)).Append("</title><style>")
          .Append("body{font-family:sans-serif;margin:1.5em;color:#222}table.heat{border-collapse:collapse;margin:0.3em 1em 0.8em 0;display:inline-table}")
          .Append("table.heat td{width:1.6em;height:1.6em;font-size:9px;text-align:center;border:1px solid #eee}")
          .Append(".case{border:1px solid #ccc;border-radius:6px;padding:0.6em 1em;margin:1em 0}.fail{color:#b00}.pass{color:#070}")
          .Append("code,pre{background:#f6f6f6;padding:0.1em 0.3em}caption{font-size:11px;caption-side:top;text-align:left}</style></head><body>");
        sb.Append($"<h1>GradOracle verify: {E(r.Implementation)} ({E(r.Dtype)})</h1>");
        sb.Append($"<p id=\"summary\"><span class=\"pass\">{r.Count(CaseStatus.Pass)} passed</span>, <span class=\"fail\">{r.Count(CaseStatus.Fail)} failed</span>, {r.Count(CaseStatus.Error)} errors, {r.Count(CaseStatus.Skipped)} skipped{(r.Count(CaseStatus.KnownFailure) > 0 ? $", {r.Count(CaseStatus.KnownFailure)} known failures" : "")}; seed {r.Seed}, shard {E(r.Shard)}; command <code>{E(r.Command)}</code></p>");
        foreach (var p in r.Problems) sb.Append($"<p class=\"fail\">error: {E(p)}</p>");
        foreach (var f in r.Findings) sb.Append($"<p class=\"finding\">{E(f)}</p>");
        foreach (var c in r.Cases.Where(c => c.Status is CaseStatus.Fail or CaseStatus.Error or CaseStatus.KnownFailure))
        {
            sb.Append($"<div class=\"case\"><h2 class=\"fail\">{E(c.Id)}</h2><p>{E(c.Op)} {E(c.Attributes)}</p><p><b>{E(c.Status.ToString())}</b>: {E(c.Summary)}</p>");
            if (c.Conventions.Length > 0) sb.Append("<ul class=\"conventions\">").Append(string.Concat(c.Conventions.Select(v => $"<li>{(v.Valid ? "convention" : "outside the valid set")}: {E(v.Text)}</li>"))).Append("</ul>");
            if (c.Diagnosis.Length > 0) sb.Append("<ul class=\"diagnosis\">").Append(string.Concat(c.Diagnosis.Select(d => $"<li>{E(d)}</li>"))).Append("</ul>");
            foreach (var d in c.Diffs)
            {
                sb.Append($"<p>{E(d.Problem ?? $"{d.Tensor}: {d.Count} of {d.Total} elements differ")}</p><ul>");
                foreach (var w in d.Worst) sb.Append($"<li><code>{E(w)}</code></li>");
                sb.Append("</ul>");
                if (c.Tensors is not null && c.Tensors.TryGetValue(d.Tensor, out var t) && t.Expected.Shape == t.Actual.Shape)
                    HeatMaps(sb, d.Tensor, t.Expected, t.Actual);
            }
            sb.Append($"<p>reproduce: <code>{E(c.Repro)}</code></p></div>");
        }
        sb.Append("<h2>Coverage</h2><ul class=\"coverage\">").Append(string.Concat(r.Coverage.Select(c => $"<li>{E(c.ToString())}</li>"))).Append("</ul>");
        if (r.Stderr.Length > 0) sb.Append("<h2>stderr</h2><pre>").Append(E(r.Stderr)).Append("</pre>");
        return sb.Append("</body></html>").ToString();
    }

    private static void HeatMaps(StringBuilder sb, string name, Tensor expected, Tensor actual)
    {
        var shape = expected.Shape;
        int rows = shape.Rank >= 2 ? shape[shape.Rank - 2] : 1, cols = shape[shape.Rank - 1];
        int slices = Math.Min(shape.Count / Math.Max(1, rows * cols), 4);
        double scale = Math.Max(1e-300, Math.Max(Layers.Tolerance.MaxAbs(expected), Layers.Tolerance.MaxAbs(actual)));
        for (int s = 0; s < slices; s++)
        {
            var coords = shape.Coordinates(s * rows * cols);
            string label = $"{name}[{string.Join(", ", coords.Take(Math.Max(0, shape.Rank - 2)))}{(shape.Rank > 2 ? ", " : "")}:, :]";
            sb.Append("<div class=\"slice\">");
            Map(sb, $"expected {label}", i => expected.At(s * rows * cols + i), rows, cols, scale);
            Map(sb, $"actual {label}", i => actual.At(s * rows * cols + i), rows, cols, scale);
            Map(sb, $"difference {label}", i => actual.At(s * rows * cols + i) - expected.At(s * rows * cols + i), rows, cols, scale);
            sb.Append("</div>");
        }
    }

    private static void Map(StringBuilder sb, string caption, Func<int, double> value, int rows, int cols, double scale)
    {
        sb.Append($"<table class=\"heat\"><caption>{E(caption)}</caption>");
        for (int r = 0; r < Math.Min(rows, 32); r++)
        {
            sb.Append("<tr>");
            for (int c = 0; c < Math.Min(cols, 32); c++)
            {
                double v = value(r * cols + c);
                sb.Append($"<td style=\"background:{Color(v, scale)}\" title=\"{E(Tensor.FormatNumber(v))}\">{E(Short(v))}</td>");
            }
            sb.Append("</tr>");
        }
        sb.Append("</table>");
    }

    /// <summary>Blue for negative, red for positive, white for zero; grey for NaN.</summary>
    private static string Color(double v, double scale)
    {
        if (double.IsNaN(v)) return "#999";
        double t = Math.Clamp(Math.Abs(v) / scale, 0, 1);
        int fade = (int)(255 * (1 - t));
        return v >= 0 ? $"rgb(255,{fade},{fade})" : $"rgb({fade},{fade},255)";
    }

    private static string Short(double v) => double.IsNaN(v) ? "NaN" : v.ToString("G2", CultureInfo.InvariantCulture);

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
