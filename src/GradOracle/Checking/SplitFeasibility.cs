namespace GradOracle.Checking;

/// <summary>
/// Whether windows that each pass a total, split without a change of sign over their own receivers, can add up
/// to what the receivers got, each within its allowance: the valid set of a max-pool gradient at tied maxima,
/// where overlapping windows share receivers. A transportation problem, decided as a feasible flow with lower
/// bounds: windows passing a positive total are sources, negative ones sinks, and each receiver's net intake must
/// lie in [got - allowance, got + allowance].
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
        const int superSource = 0, superSink = 1, source = 2, sink = 3;
        var g = new Graph(4 + w + p);
        double scale = windows.Sum(x => Math.Abs(x.Total)) + got.Select((v, i) => Math.Abs(v) + allowance[i]).Sum();
        if (!double.IsFinite(scale)) return false;
        double infinity = 4 * scale + 1;
        var excess = new double[4 + w + p];
        void Edge(int from, int to, double lower, double upper)
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
            if (total > 0) Edge(source, node, total, total);
            else Edge(node, sink, -total, -total);
            foreach (var r in receivers)
                if (total > 0) Edge(node, 4 + w + r, 0, infinity);
                else Edge(4 + w + r, node, 0, infinity);
        }
        for (int i = 0; i < p; i++)
        {
            double lo = got[i] - allowance[i], hi = got[i] + allowance[i];
            Edge(4 + w + i, sink, Math.Max(lo, 0), Math.Max(hi, 0));   // net intake when positive
            Edge(source, 4 + w + i, Math.Max(-hi, 0), Math.Max(-lo, 0)); // net outflow when negative
        }
        Edge(sink, source, 0, infinity);
        double required = 0;
        for (int v = 0; v < excess.Length; v++)
        {
            if (excess[v] > 0) { g.Add(superSource, v, excess[v]); required += excess[v]; }
            else if (excess[v] < 0) g.Add(v, superSink, -excess[v]);
        }
        // Rounding in the flow's own additions, a few units per edge of everything that moves.
        double slack = 16 * Tolerance.UnitRoundoff * (g.EdgeCount + 1) * scale;
        return g.MaxFlow(superSource, superSink, slack * 1e-3) >= required - slack;
    }

    /// <summary>Dinic's maximum flow on a small graph with real capacities.</summary>
    private sealed class Graph(int nodes)
    {
        private readonly List<(int To, double Cap, int Rev)>[] adj = Enumerable.Range(0, nodes).Select(_ => new List<(int, double, int)>()).ToArray();

        public int EdgeCount { get; private set; }

        public void Add(int from, int to, double cap)
        {
            adj[from].Add((to, cap, adj[to].Count));
            adj[to].Add((from, 0, adj[from].Count - 1));
            EdgeCount++;
        }

        public double MaxFlow(int s, int t, double epsilon)
        {
            double flow = 0;
            var level = new int[adj.Length];
            var next = new int[adj.Length];
            while (Levels(s, t, level, epsilon))
            {
                Array.Clear(next);
                double f;
                while ((f = Push(s, t, double.PositiveInfinity, level, next, epsilon)) > epsilon) flow += f;
            }
            return flow;
        }

        private bool Levels(int s, int t, int[] level, double epsilon)
        {
            Array.Fill(level, -1);
            level[s] = 0;
            var queue = new Queue<int>([s]);
            while (queue.Count > 0)
            {
                int u = queue.Dequeue();
                foreach (var (to, cap, _) in adj[u])
                    if (cap > epsilon && level[to] < 0) { level[to] = level[u] + 1; queue.Enqueue(to); }
            }
            return level[t] >= 0;
        }

        private double Push(int u, int t, double limit, int[] level, int[] next, double epsilon)
        {
            if (u == t) return limit;
            for (; next[u] < adj[u].Count; next[u]++)
            {
                var (to, cap, rev) = adj[u][next[u]];
                if (cap <= epsilon || level[to] != level[u] + 1) continue;
                double f = Push(to, t, Math.Min(limit, cap), level, next, epsilon);
                if (f <= epsilon) continue;
                adj[u][next[u]] = (to, cap - f, rev);
                var back = adj[to][rev];
                adj[to][rev] = (back.To, back.Cap + f, back.Rev);
                return f;
            }
            return 0;
        }
    }
}
