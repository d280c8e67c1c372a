using System.Globalization;

namespace GradOracle.Verification;

/// <summary>
/// The edge sweep's summary: per op and dimension, the sizes whose cases failed against those that passed. A failure
/// that only some sizes of one dimension show is named as size-dependent, with the smallest failing size, and when
/// the failing sizes are exactly those past a tile width that it does not divide, or exactly those above a size,
/// that rule is said (it describes every case run, and nothing else). Each case's verdict is its own; this reads them.
/// </summary>
internal static class SizeDependence
{
    /// <summary>Tile widths a blocked loop is tried against, smallest first.</summary>
    private static readonly int[] Tiles = [4, 8, 16, 32, 64, 128, 256];

    /// <summary>Passing sizes below the smallest failing one that a threshold needs.</summary>
    private const int MinPassingBelow = 3;

    /// <summary>One finding per (op, dimension) whose edge cases both passed and failed.</summary>
    public static List<string> Findings(IReadOnlyList<CaseResult> cases)
    {
        var findings = new List<string>();
        var edges = cases.Where(c => c.Source == "edges" && c.Status is CaseStatus.Pass or CaseStatus.Fail)
            .Select(c => (Case: c, Edge: Parse(c.Id))).Where(x => x.Edge is not null)
            .GroupBy(x => (x.Case.Op, x.Edge!.Value.Axis));
        foreach (var g in edges.OrderBy(g => g.Key.Op, StringComparer.Ordinal).ThenBy(g => g.Key.Axis, StringComparer.Ordinal))
        {
            var failing = g.Where(x => x.Case.Status == CaseStatus.Fail).OrderBy(x => x.Edge!.Value.Size).ToList();
            var passing = g.Where(x => x.Case.Status == CaseStatus.Pass).Select(x => x.Edge!.Value.Size).Order().ToList();
            if (failing.Count == 0 || passing.Count == 0) continue;
            var (op, axis) = g.Key;
            var sizes = failing.Select(x => x.Edge!.Value.Size).ToList();
            var run = sizes.Concat(passing).Order().ToList();
            int smallest = sizes[0];
            var below = passing.Where(s => s < smallest).ToList();
            var rule = Rule(sizes, run, axis);
            // Failures no size rule picks out may come from the data (a kink drawn in some cases), so they are not called size-dependent.
            findings.Add((rule is null ? "failures at some sizes" : "size-dependent failure") +
                $": {op} fails with {axis} in {{{List(sizes)}}} and passes with {axis} in {{{List(passing)}}}: " +
                $"smallest failing size {axis}={smallest} ({failing[0].Case.Id})" + (below.Count > 0 ? $", largest passing size below it {axis}={below[^1]}" : "") +
                (rule is null ? "; no size rule fits them, so they may depend on the cases' data instead" : "; " + rule));
        }
        return findings;
    }

    /// <summary>A rule that picks out exactly the failing sizes among those run, or null when none of these does.</summary>
    private static string? Rule(List<int> failing, List<int> run, string axis)
    {
        var set = failing.ToHashSet();
        foreach (int tile in Tiles)
            if (run.All(s => set.Contains(s) == (s > tile && s % tile != 0)) && failing.Count > 0)
                return $"exactly the sizes above {tile} that {tile} does not divide fail: what a loop over {axis} in blocks of {tile} that drops the last partial block gives";
        // A threshold needs a few passing sizes below it: one tiny size passing (a single element outside a kink's
        // region) says nothing about size.
        var below = run.Where(s => s < failing.Min()).ToList();
        if (below.Count >= MinPassingBelow && failing.Count >= 2 && run.All(s => set.Contains(s) == (s > below[^1])))
            return $"exactly the sizes above {below[^1]} fail";
        return null;
    }

    private static string List(List<int> sizes) => string.Join(", ", sizes.Select(s => s.ToString(CultureInfo.InvariantCulture)));

    /// <summary>The axis and size of an edge case's id (edges/&lt;seed&gt;/&lt;op&gt;/&lt;axis&gt;=&lt;size&gt;).</summary>
    internal static (string Axis, int Size)? Parse(string id)
    {
        var parts = id.Split('/');
        if (parts.Length != 4 || parts[0] != "edges") return null;
        var eq = parts[3].Split('=');
        return eq.Length == 2 && int.TryParse(eq[1], NumberStyles.None, CultureInfo.InvariantCulture, out int size) ? (eq[0], size) : null;
    }
}
