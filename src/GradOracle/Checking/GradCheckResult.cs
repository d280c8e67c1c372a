using System.Collections.Immutable;
using System.Text;
using GradOracle.Tensors;

namespace GradOracle.Checking;

/// <summary>The finite-difference check of one op on one set of inputs, element by element.</summary>
public sealed class GradCheckResult
{
    private readonly ImmutableArray<ElementColumns> columns;
    private ImmutableArray<ElementCheck> elements;

    /// <summary>Creates a result.</summary>
    public GradCheckResult(string op, string attributes, IEnumerable<ElementCheck> elements, string? error = null)
    {
        Op = op;
        Attributes = attributes;
        this.elements = elements.ToImmutableArray();
        Error = error;
    }

    /// <summary>A result held by column (the checker's form): records are built when <see cref="Elements"/> is first read.</summary>
    internal GradCheckResult(string op, string attributes, IEnumerable<ElementColumns> columns)
    {
        Op = op;
        Attributes = attributes;
        this.columns = columns.ToImmutableArray();
    }

    /// <summary>The op's name.</summary>
    public string Op { get; }

    /// <summary>The op's attributes.</summary>
    public string Attributes { get; }

    /// <summary>Every element checked, in tensor order.</summary>
    public ImmutableArray<ElementCheck> Elements
    {
        get
        {
            if (elements.IsDefault) ImmutableInterlocked.InterlockedInitialize(ref elements, columns.SelectMany(c => c.All()).ToImmutableArray());
            return elements;
        }
    }

    // Verdicts and errors by element, read from the columns where there are any (no records built).
    private IEnumerable<(ElementVerdict Verdict, bool IsKink, double AbsoluteError)> Summaries =>
        columns.IsDefault
            ? Elements.Select(e => (e.Verdict, e.IsKink, e.AbsoluteError))
            : columns.SelectMany(c => Enumerable.Range(0, c.Count).Select(k => (c.Verdict(k), c.IsKink(k), c.AbsoluteError(k))));

    /// <summary>
    /// Outputs that were NaN or infinite at the checked point: finite differences cannot see their
    /// contributions, so the backward was compared with dY zeroed there (other checks cover them).
    /// </summary>
    public int ExcludedOutputs { get; init; }

    /// <summary>Why the check could not run at all (the op threw, a gradient was missing or misshapen), if so.</summary>
    public string? Error { get; }

    /// <summary>Whether every element passed and nothing went wrong.</summary>
    public bool Passed => Error is null && Summaries.All(e => e.Verdict != ElementVerdict.Fail);

    /// <summary>Elements compared (all but the skipped).</summary>
    public int Checked => Summaries.Count(e => e.Verdict != ElementVerdict.Skipped);

    /// <summary>Elements found at a kink.</summary>
    public int Kinks => Summaries.Count(e => e.IsKink);

    /// <summary>Elements skipped.</summary>
    public int Skipped => Summaries.Count(e => e.Verdict == ElementVerdict.Skipped);

    /// <summary>Elements that failed.</summary>
    public ImmutableArray<ElementCheck> Failures => columns.IsDefault
        ? Elements.Where(e => e.Verdict == ElementVerdict.Fail).ToImmutableArray()
        : columns.SelectMany(c => Enumerable.Range(0, c.Count).Where(k => c.Verdict(k) == ElementVerdict.Fail).Select(k => c[k])).ToImmutableArray();

    /// <summary>The elements, worst first.</summary>
    public IEnumerable<ElementCheck> Worst => Elements.OrderByDescending(e => e.Badness);

    /// <summary>Largest |analytic - numeric| over the smooth (non-kink, non-skipped) elements.</summary>
    public double WorstAbsoluteError =>
        Summaries.Where(e => !e.IsKink && e.Verdict != ElementVerdict.Skipped).Select(e => e.AbsoluteError).DefaultIfEmpty(0).Max();

    /// <summary>A report: the verdict, the worst elements, and a pattern in the mismatches when there is one.</summary>
    public string Describe(int maxElements = 8)
    {
        var sb = new StringBuilder();
        string head = $"{Op}({Attributes})";
        if (Error is not null) return $"{head}: gradient check could not run: {Error}";
        var failures = Failures;
        if (failures.IsEmpty)
            sb.Append($"{head}: gradient check passed: {Checked} elements, {Kinks} kinks, {Skipped} skipped, worst abs err {ElementCheck.Show(WorstAbsoluteError)}")
              .Append(ExcludedOutputs > 0 ? $"; {ExcludedOutputs} non-finite output(s) left out" : "");
        else
        {
            foreach (var group in failures.GroupBy(f => f.Tensor))
                sb.Append($"{head}: gradient check failed for '{group.Key}': {group.Count()} of {Elements.Count(e => e.Tensor == group.Key)} elements wrong").AppendLine();
            foreach (var e in Worst.Take(maxElements)) sb.Append("  ").Append(e).AppendLine();
            if (Pattern(failures) is { } pattern) sb.Append("  pattern: ").Append(pattern);
        }
        return sb.ToString().TrimEnd();
    }

    /// <summary>A regularity shared by all mismatches, if any: a constant ratio, a sign flip, zeros.</summary>
    internal static string? Pattern(ImmutableArray<ElementCheck> failures)
    {
        var smooth = failures.Where(f => !f.IsKink).ToList();
        var kinks = failures.Where(f => f.IsKink).ToList();
        if (kinks.Count > 0 && kinks.All(k => k.Declared is not null))
            return $"{kinks.Count} mismatch(es) at kinks (ties) where the analytic gradient is a valid one-sided value but not the declared tie policy's: " +
                   "the gradient went to another of the tied maxima than the policy names";
        if (smooth.Count == 0) return null;
        if (smooth.All(f => f.Numeric == 0)) return "analytic gradient where the function does not depend on the input (numeric 0)";
        if (smooth.All(f => f.Analytic == 0)) return "analytic gradient is 0 where the function does depend on the input: a missing contribution";
        var ratios = smooth.Select(f => f.Analytic / f.Numeric).ToList();
        double r0 = ratios[0];
        if (ratios.All(r => Math.Abs(r - r0) <= 1e-6 * Math.Abs(r0)))
        {
            if (Math.Abs(r0 + 1) < 1e-6) return "analytic = -numeric on every mismatch: sign flipped";
            var ratio = ElementCheck.Show(r0);
            var near = Math.Round(r0);
            if (Math.Abs(r0 - near) < 1e-6 && near > 1)
                return $"analytic/numeric = {ratio} on every mismatch: the gradient is {near}x too large (copied to {near} cells instead of divided, or counted {near} times?)";
            var inverse = Math.Round(1 / r0);
            if (inverse > 1 && Math.Abs(1 / r0 - inverse) < 1e-6)
                return $"analytic/numeric = {ratio} on every mismatch: the gradient is divided by {inverse} (a batch size or a count: a mean baked into a layer whose loss is a sum?)";
            return $"analytic/numeric = {ratio} on every mismatch: a scale error";
        }
        return null;
    }
}
