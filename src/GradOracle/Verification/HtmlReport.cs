using System.Net;
using System.Text;

namespace GradOracle.Verification;

/// <summary>
/// One self-contained HTML page (no network: inline CSS, no scripts or external assets): the run's counts, per
/// failing case the diagnosis, the reproduction command and heat maps (<see cref="HeatMap"/>) of expected, actual and
/// difference beside the case's input; then what passed per op, the skipped cases by reason, and the coverage.
/// </summary>
public static class HtmlReport
{
    // Readable at 100% zoom: body text at the browser's normal size, heat-map numbers at 12px; wide content scrolls in its own box.
    private const string Css =
        "body{font:16px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;padding:0.5em 1em 2em;max-width:1400px;color:#222}" +
        "h1{font-size:1.5em;margin:0.5em 0;overflow-wrap:anywhere}h2{font-size:1.25em;margin:1.2em 0 0.4em}" +
        "code,pre{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:0.88em;background:#f3f3f3;padding:0.1em 0.3em;border-radius:3px;overflow-wrap:anywhere}" +
        "pre{white-space:pre-wrap;max-height:30em;overflow:auto}" +
        "#summary{font-size:1.05em}#counts{font-weight:600;padding:0.1em 0.5em;border-radius:4px;-webkit-box-decoration-break:clone;box-decoration-break:clone}#counts.ok{background:#e3f4e3;color:#075e07}#counts.bad{background:#fbe3e3;color:#a00}" +
        ".case{border:1px solid #ccc;border-left:5px solid #b00;border-radius:6px;padding:0.2em 1em 0.6em;margin:1em 0;overflow-wrap:anywhere}" +
        ".case.known{border-left-color:#c80}.case h3{font-size:1.15em;margin:0.5em 0;color:#a00}.fail{color:#a00}.worst li{margin:0.15em 0}" +
        ".maps{display:flex;flex-wrap:wrap;gap:0.6em 1em;margin:0.3em 0 1em}.map{max-width:100%;overflow-x:auto}" +
        "table.heat{border-collapse:collapse}table.heat caption{font-size:13px;text-align:left;caption-side:top;padding-bottom:3px;white-space:nowrap}" +
        "table.heat td{min-width:2.5em;height:1.9em;padding:0 3px;font-size:12px;text-align:center;border:1px solid #ddd;white-space:nowrap;font-variant-numeric:tabular-nums}" +
        ".legend{font-size:14px;line-height:1.9}.key{display:inline-block;min-width:2.4em;padding:0 0.35em;border:1px solid #ccc;text-align:center;font-size:12px;line-height:1.6}" +
        ".bar{display:inline-block;width:3em;height:0.8em;vertical-align:middle;border:1px solid #ccc}" +
        ".bar.neg{background:linear-gradient(to right,rgb(33,102,172),#fff)}.bar.pos{background:linear-gradient(to right,#fff,rgb(178,24,43))}" +
        ".note{color:#555;font-size:0.9em}details{margin:0.3em 0}summary{cursor:pointer}ul.ids{font-size:0.9em;columns:22em;margin:0.3em 0}" +
        ".coverage li{margin:0.3em 0;overflow-wrap:anywhere}" +
        "@media(max-width:600px){body{padding:0.3em 0.6em 1em}.case{padding:0.1em 0.6em 0.5em}ul{padding-left:1.2em}}";

    /// <summary>The page.</summary>
    public static string Render(VerifyReport r)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
          .Append($"<title>GradOracle verify: {E(r.Implementation)}</title><style>{Css}</style></head><body>");
        sb.Append($"<h1>GradOracle verify: {E(r.Implementation)} ({E(r.Dtype)})</h1>");
        // The counts are VerifyReport.Counts verbatim, the same text as the table's last line: one source, no second copy.
        sb.Append($"<p id=\"summary\"><span id=\"counts\" class=\"{(r.ExitCode == 0 ? "ok" : "bad")}\">{E(r.Counts)}</span>; seed {r.Seed}, shard {E(r.Shard)}{(r.Strict ? ", --strict" : "")}; command <code>{E(r.Command)}</code></p>");
        foreach (var p in r.Problems) sb.Append($"<p class=\"fail\">error: {E(p)}</p>");
        foreach (var f in r.Findings) sb.Append($"<p class=\"finding\">{E(f)}</p>");
        if (r.TimeSummary() is { } time) sb.Append($"<p class=\"note\">{E(time)}</p>");

        var failing = r.Cases.Where(c => c.Status is CaseStatus.Fail or CaseStatus.Error or CaseStatus.KnownFailure).ToList();
        if (failing.Count > 0) sb.Append($"<h2>Failures ({failing.Count})</h2>");
        foreach (var c in failing) Case(sb, c);

        Passed(sb, r);
        Skipped(sb, r);
        // Ops the implementation does not have are listed under Skipped already; their coverage says nothing more.
        var covered = r.Coverage.Where(c => c.Ran > 0 || c.Skipped.Keys.Any(k => !k.EndsWith(CaseResult.NotAmongOps, StringComparison.Ordinal)));
        sb.Append("<h2>Coverage</h2><ul class=\"coverage\">").Append(string.Concat(covered.Select(c => $"<li>{E(c.ToString())}</li>"))).Append("</ul>");
        if (r.Stderr.Length > 0) sb.Append("<h2>stderr</h2><pre>").Append(E(r.Stderr)).Append("</pre>");
        return sb.Append("</body></html>").ToString();
    }

    private static void Case(StringBuilder sb, CaseResult c)
    {
        sb.Append($"<div class=\"case{(c.Status == CaseStatus.KnownFailure ? " known" : "")}\"><h3>{E(c.Id)}</h3><p>{E(c.Op)} {E(c.Attributes)}</p><p><b>{E(c.Status.ToString())}</b>: {E(c.Summary)}</p>");
        if (c.Conventions.Length > 0) sb.Append("<ul class=\"conventions\">").Append(string.Concat(c.Conventions.Select(v => $"<li>{(v.Valid ? "convention" : "outside the valid set")}: {E(v.Text)}</li>"))).Append("</ul>");
        if (c.Diagnosis.Length > 0) sb.Append("<ul class=\"diagnosis\">").Append(string.Concat(c.Diagnosis.Select(d => $"<li>{E(d)}</li>"))).Append("</ul>");
        // The input beside a gradient of its shape (grads.input) puts its ties and NaN next to where the gradient went wrong.
        var input = c.Inputs is not null && c.Inputs.TryGetValue("input", out var x) ? x : null;
        bool inputDrawn = false;
        foreach (var d in c.Diffs)
        {
            sb.Append($"<p>{E(d.Problem ?? $"{d.Tensor}: {d.Count} of {d.Total} elements differ{(d.Where is null ? "" : $", all within {d.Where}")}")}</p><ul class=\"worst\">");
            foreach (var w in d.Worst) sb.Append($"<li><code>{E(w)}</code></li>");
            sb.Append("</ul>");
            if (c.Tensors is null || !c.Tensors.TryGetValue(d.Tensor, out var t) || t.Expected.Shape != t.Actual.Shape) continue;
            var beside = input is not null && input.Shape == t.Expected.Shape ? input : null;
            inputDrawn |= beside is not null;
            HeatMap.Gradient(sb, d.Tensor, t.Expected, t.Actual, beside);
        }
        if (input is not null && !inputDrawn)
        {
            sb.Append("<p>the case's input:</p>");
            HeatMap.Input(sb, input);
        }
        sb.Append($"<p>reproduce: <code>{E(c.Repro)}</code></p></div>");
    }

    /// <summary>Per op, how many cases passed, their ids folded away: a passing run says what it checked.</summary>
    private static void Passed(StringBuilder sb, VerifyReport r)
    {
        var byOp = r.Cases.Where(c => c.Status == CaseStatus.Pass).GroupBy(c => c.Op).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        if (byOp.Count == 0) return;
        sb.Append($"<h2>Passed ({byOp.Sum(g => g.Count())})</h2><div class=\"passed\">");
        foreach (var g in byOp) Folded(sb, $"{g.Key}: {g.Count()} passed", g);
        sb.Append("</div>");
    }

    /// <summary>The skipped cases grouped by reason, the commonest first.</summary>
    private static void Skipped(StringBuilder sb, VerifyReport r)
    {
        var byReason = r.Cases.Where(c => c.Status == CaseStatus.Skipped).GroupBy(c => c.SkipReason)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).ToList();
        if (byReason.Count == 0) return;
        sb.Append($"<h2>Skipped ({byReason.Sum(g => g.Count())})</h2><div class=\"skipped\">");
        foreach (var g in byReason)
            Folded(sb, $"{g.Count()} skipped: {g.Key}{(g.Key == g.First().Summary ? "" : $": {VerifyReport.OpCounts(g)}")}", g);
        sb.Append("</div>");
    }

    private static void Folded(StringBuilder sb, string summary, IEnumerable<CaseResult> cases) =>
        sb.Append($"<details><summary>{E(summary)}</summary><ul class=\"ids\">")
          .Append(string.Concat(cases.Select(c => $"<li>{E(c.Id)}</li>"))).Append("</ul></details>");

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
