using System.Numerics;

namespace GradOracle.Layers;

/// <summary>
/// Whether windows that each pass a total, split without a change of sign over their own receivers, can add up
/// to what the receivers got, each within its allowance: the valid set of a max-pool gradient at tied maxima,
/// where overlapping windows share receivers. A transportation problem, decided as a feasible flow with lower
/// bounds: windows passing a positive total are sources, negative ones sinks, and each receiver's net intake must
/// lie in [got - allowance, got + allowance]. The flow is computed exactly, in integers at the scale of the
/// smallest binary exponent among the numbers, so that the allowances are the only tolerance.
/// </summary>
internal static class SplitFeasibility
{
    /// <summary>
    /// Whether some non-negative split of each window's total over its receivers (local indices into <paramref name="got"/>)
    /// gives every receiver what it got, to within <paramref name="allowance"/>.
    /// </summary>
    public static bool Feasible(IReadOnlyList<(double Total, int[] Receivers)> windows, double[] got, double[] allowance)
    {
        int w = windows.Count, p = got.Length;
        var bounds = Enumerable.Range(0, p).Select(i => (Lo: got[i] - allowance[i], Hi: got[i] + allowance[i])).ToArray();
        var numbers = windows.Select(x => x.Total).Concat(bounds.SelectMany(b => new[] { b.Lo, b.Hi })).ToList();
        if (numbers.Any(v => !double.IsFinite(v))) return false;
        var scale = new Scale(numbers);
        const int superSource = 0, superSink = 1, source = 2, sink = 3;
        var g = new Graph(4 + w + p);
        BigInteger infinity = numbers.Aggregate(BigInteger.One, (sum, v) => sum + BigInteger.Abs(scale.Of(v)));
        var excess = new BigInteger[4 + w + p];
        void Edge(int from, int to, BigInteger lower, BigInteger upper)
        {
            if (upper <= 0) return;
            g.Add(from, to, upper - lower);
            excess[to] += lower;
            excess[from] -= lower;
        }
        for (int k = 0; k < w; k++)
        {
            var (total, receivers) = windows[k];
            if (total == 0) continue;
            int node = 4 + k;
            var t = BigInteger.Abs(scale.Of(total));
            if (total > 0) Edge(source, node, t, t);
            else Edge(node, sink, t, t);
            foreach (var r in receivers)
                if (total > 0) Edge(node, 4 + w + r, 0, infinity);
                else Edge(4 + w + r, node, 0, infinity);
        }
        for (int i = 0; i < p; i++)
        {
            BigInteger lo = scale.Of(bounds[i].Lo), hi = scale.Of(bounds[i].Hi);
            Edge(4 + w + i, sink, BigInteger.Max(lo, 0), BigInteger.Max(hi, 0));   // net intake when positive
            Edge(source, 4 + w + i, BigInteger.Max(-hi, 0), BigInteger.Max(-lo, 0)); // net outflow when negative
        }
        Edge(sink, source, 0, infinity);
        BigInteger required = 0;
        for (int v = 0; v < excess.Length; v++)
        {
            if (excess[v] > 0) { g.Add(superSource, v, excess[v]); required += excess[v]; }
            else if (excess[v] < 0) g.Add(v, superSink, -excess[v]);
        }
        return g.MaxFlow(superSource, superSink) == required;
    }

    /// <summary>Finite doubles as exact integers: each one's value divided by 2^(the smallest exponent among them).</summary>
    private sealed class Scale(IEnumerable<double> values)
    {
        private readonly int lowest = values.Where(v => v != 0).Select(Exponent).DefaultIfEmpty(0).Min();

        // v = mantissa · 2^exponent with an integer mantissa of at most 53 bits.
        private static int Exponent(double v) => Math.ILogB(v) - 52;

        public BigInteger Of(double v)
        {
            if (v == 0) return BigInteger.Zero;
            int e = Exponent(v);
            var mantissa = new BigInteger(Math.ScaleB(Math.Abs(v), -e)); // exact: an integer below 2^53
            var n = mantissa << (e - lowest);
            return v < 0 ? -n : n;
        }
    }

    /// <summary>Dinic's maximum flow with integer capacities.</summary>
    private sealed class Graph(int nodes)
    {
        private readonly List<(int To, BigInteger Cap, int Rev)>[] adj = Enumerable.Range(0, nodes).Select(_ => new List<(int, BigInteger, int)>()).ToArray();

        public void Add(int from, int to, BigInteger cap)
        {
            adj[from].Add((to, cap, adj[to].Count));
            adj[to].Add((from, BigInteger.Zero, adj[from].Count - 1));
        }

        public BigInteger MaxFlow(int s, int t)
        {
            BigInteger flow = 0;
            var level = new int[adj.Length];
            var next = new int[adj.Length];
            while (Levels(s, t, level))
            {
                Array.Clear(next);
                BigInteger f;
                while ((f = Push(s, t, null, level, next)) > 0) flow += f;
            }
            return flow;
        }

        private bool Levels(int s, int t, int[] level)
        {
            Array.Fill(level, -1);
            level[s] = 0;
            var queue = new Queue<int>([s]);
            while (queue.Count > 0)
            {
                int u = queue.Dequeue();
                foreach (var (to, cap, _) in adj[u])
                    if (cap > 0 && level[to] < 0) { level[to] = level[u] + 1; queue.Enqueue(to); }
            }
            return level[t] >= 0;
        }

        /// <summary>One augmenting path's flow along the level graph (null limit: unbounded).</summary>
        private BigInteger Push(int u, int t, BigInteger? limit, int[] level, int[] next)
        {
            if (u == t) return limit ?? BigInteger.Zero;
            for (; next[u] < adj[u].Count; next[u]++)
            {
                var (to, cap, rev) = adj[u][next[u]];
                if (cap <= 0 || level[to] != level[u] + 1) continue;
                var f = Push(to, t, limit is { } l ? BigInteger.Min(l, cap) : cap, level, next);
                if (f <= 0) continue;
                adj[u][next[u]] = (to, cap - f, rev);
                var back = adj[to][rev];
                adj[to][rev] = (back.To, back.Cap + f, back.Rev);
                return f;
            }
            return 0;
        }
    }
}
