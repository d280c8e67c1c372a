using System.Collections.Immutable;
using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// Max pooling's gradient where it has no derivative. A window with tied maxima may split its gradient over
/// exactly those maxima in any non-negative shares that sum to it (first, last, equal shares or any other); a
/// window holding NaN either lets NaN win (its output is NaN, and its gradient goes to its NaNs in any such
/// split, or nowhere: the output is NaN whatever follows) or ignores NaN (its output is the maximum of the other
/// values, which receive its gradient as above). Theano's rule, the full gradient to every tie, lies outside the
/// set: it multiplies a window's gradient by its number of ties. Each window's rule is read off the answer's
/// own output, so a rule that differs by window (NaN kept only when it comes first) is judged window by window.
/// </summary>
internal static class MaxPoolConventions
{
    /// <summary>Tied maxima (by ==, so -0.0 ties +0.0).</summary>
    public static readonly Situation Ties = new("tie_policy", "tied maxima in a window", "first", [.. PoolingRuleNames.TiePolicies], HonoursAttribute: true);

    /// <summary>A window holding NaN.</summary>
    public static readonly Situation Nan = new("nan_rule", "a window holding NaN", "propagate", [.. PoolingRuleNames.NanRules], HonoursAttribute: true);

    private const string Key = "grads.input";

    /// <summary>One output window of the answer: what it passes and the inputs that may receive it under the rule its output shows.</summary>
    private sealed record Window(int Plane, int Output, double Gradient, int[] Receivers, bool OutputNaN, bool HoldsNaN, bool AllNaN);

    private enum NanRouting { Last, First, Split, None }

    public static IOp WithConventions(MaxPool op, IReadOnlyDictionary<string, string> choices)
    {
        var tie = choices.TryGetValue(Ties.Key, out var t) && t != Situation.Attribute ? PoolingRuleNames.ParseTie(t) : op.TiePolicy;
        var nan = choices.TryGetValue(Nan.Key, out var n) && n != Situation.Attribute ? PoolingRuleNames.ParseNan(n) : op.NanRule;
        return op.WithRules(tie, nan);
    }

    public static IReadOnlyList<string> SituationsAt(MaxPool op, NamedTensors inputs)
    {
        var x = inputs["input"];
        var g = op.GeometryFor(x.Shape);
        int planes = x.Shape[0] * x.Shape[1];
        var taps = new int[g.MaxWindowSize];
        var kt = new int[g.MaxWindowSize];
        var maxima = new int[g.MaxWindowSize];
        bool ties = false, nan = false;
        for (int p = 0; p < planes && !(ties && nan); p++)
        {
            var plane = x.Span.Slice(p * g.InputPlaneSize, g.InputPlaneSize);
            for (int o = 0; o < g.OutputPlaneSize; o++)
            {
                int n = g.Gather(o, taps, kt);
                bool holdsNan = false;
                for (int k = 0; k < n; k++) holdsNan |= double.IsNaN(plane[taps[k]]);
                nan |= holdsNan;
                ties |= MaxPool.Maxima(plane, taps.AsSpan(0, n), NanRule.Ignore, maxima) > 1 && !double.IsNaN(plane[maxima[0]]);
            }
        }
        return [.. (ties ? new[] { Ties.Key } : []), .. (nan ? new[] { Nan.Key } : [])];
    }

    public static ConventionJudgement Judge(MaxPool op, NamedTensors inputs, Tensor gradOutput, OpResult answer, AnswerComparer compare, IReadOnlyDictionary<string, string> required)
    {
        var x = inputs["input"];
        if (!answer.Grads.Contains("input")) return ConventionJudgement.NotAConventionMatter;
        var dx = answer.Grads["input"];
        var windows = Windows(op, x, gradOutput, answer.Output, compare);
        if (windows is null) return ConventionJudgement.NotAConventionMatter; // an output no rule gives: an ordinary mismatch
        bool[] nanAt = x.ToArray().Select(double.IsNaN).ToArray();
        var kinks = new HashSet<int>(windows.Where(w => w.Receivers.Length > 1 || w.HoldsNaN).SelectMany(w => w.Receivers));
        TiePolicy? requiredTie = required.TryGetValue(Ties.Key, out var rt) ? PoolingRuleNames.ParseTie(rt) : null;
        NanRule? requiredNan = required.TryGetValue(Nan.Key, out var rn) ? PoolingRuleNames.ParseNan(rn) : null;

        // Where the answer differs from this op's own (its output agrees, as Windows found, wherever no NaN is) only at
        // elements no tie or NaN reaches, the kinks have nothing to do with it.
        var expected = op.Backward(inputs, gradOutput)["input"];
        bool outputAgrees = compare.Same("output", op.Forward(inputs), answer.Output);
        if (outputAgrees && compare.Same(Key, expected, dx)) return new ConventionJudgement(true, [], null); // its own rule
        if (outputAgrees && !Enumerable.Range(0, x.Count).Any(i => kinks.Contains(i) && !compare.Agrees(Key, i, expected.At(i), dx.At(i))))
            return ConventionJudgement.NotAConventionMatter;

        bool Fits(double[] predicted, bool nanPositions) =>
            Enumerable.Range(0, x.Count).All(i => nanAt[i] != nanPositions || compare.Agrees(Key, i, predicted[i], dx.At(i)));
        var finite = windows.Where(w => !w.OutputNaN).ToList();
        var nanWins = windows.Where(w => w.OutputNaN).ToList();

        // Ties: the finite-output windows route to non-NaN positions only, NaN-output ones to NaNs only, so each part is judged on its own positions.
        TiePolicy? tie = new[] { TiePolicy.First, TiePolicy.Last, TiePolicy.Split }
            .Cast<TiePolicy?>().FirstOrDefault(t => Fits(Predict(finite, x.Count, t!.Value, NanRouting.Last), nanPositions: false));
        bool tiesValid = tie is not null || Splits(finite, x, dx, compare, nanAt, nanPositions: false, allowNone: false, out _);
        bool theano = !tiesValid && Fits(Predict(finite, x.Count, TiePolicy.All, NanRouting.Last), nanPositions: false);
        var routings = Enum.GetValues<NanRouting>().Where(r => Fits(Predict(nanWins, x.Count, TiePolicy.First, r), nanPositions: true)).ToList();
        NanRouting? routing = routings.Count > 0 ? routings[0] : null;
        bool nanValid = routing is not null || Splits(nanWins, x, dx, compare, nanAt, nanPositions: true, allowNone: true, out _);

        var conventions = new List<Convention>();
        int tied = finite.Count(w => w.Receivers.Length > 1 && w.Gradient != 0);
        if (tied > 0)
        {
            if (tie is TiePolicy.Last) conventions.Add(new(Ties.Key, "last", tied, $"tied maxima: the last receives the gradient, in {tied} window(s) (PyTorch: the first)"));
            else if (tie is TiePolicy.Split) conventions.Add(new(Ties.Key, "split", tied, $"tied maxima share the gradient equally, in {tied} window(s) (PyTorch: the first receives it)"));
            else if (tie is null && tiesValid) conventions.Add(new(Ties.Key, "other", tied, $"tied maxima split the gradient in another valid way, in {tied} window(s) (PyTorch: the first receives it)"));
            else if (theano) conventions.Add(new(Ties.Key, "all", tied,
                $"every tied maximum receives its window's full gradient (Theano's rule, tie_policy=all), in {tied} window(s): that multiplies a window's gradient by its number of ties, so it is not a gradient", Valid: false));
        }
        // PyTorch's own choice is named too where another is required, so that what the answer did is on record.
        if (tied > 0 && tie is TiePolicy.First && requiredTie is { } other && other != TiePolicy.First)
            conventions.Add(new(Ties.Key, "first", tied, $"tied maxima: the first receives the gradient, in {tied} window(s) (PyTorch's rule)"));
        int ignored = windows.Count(w => w.HoldsNaN && !w.OutputNaN), propagated = nanWins.Count(w => !w.AllNaN);
        if (windows.Any(w => w.HoldsNaN) && NanConvention(routing, routings.Contains(NanRouting.First), nanValid, ignored, propagated, nanWins.Count) is { } nc) conventions.Add(nc);
        else if (ignored == 0 && nanWins.Count > 0 && routing is NanRouting.Last && requiredNan is { } otherNan && otherNan != NanRule.Propagate)
            conventions.Add(new(Nan.Key, "propagate", nanWins.Count, $"NaN wins and the last NaN receives the gradient, in {nanWins.Count} window(s) (PyTorch's rule)"));

        string? problem = null, breaks = null;
        string tieText = conventions.FirstOrDefault(c => c.Situation == Ties.Key)?.Text ?? "tied maxima: the first receives the gradient (PyTorch's rule)";
        if (!tiesValid && !(requiredTie == TiePolicy.All && theano)) // outside the set, unless Theano's rule is what is required
            problem = theano ? tieText : Infeasibility(finite, op, x, dx, compare, nanAt, nanPositions: false);
        else if (requiredTie is { } want && tied > 0 && !Fits(Predict(finite, x.Count, want, NanRouting.Last), nanPositions: false))
        {
            problem = $"{tieText}, where tie_policy={PoolingRuleNames.Name(want)} is required";
            breaks = Ties.Key;
        }
        else if (!nanValid)
            problem = Infeasibility(nanWins, op, x, dx, compare, nanAt, nanPositions: true);
        else if (requiredNan is { } rule && !NanMeets(rule, windows, w => Fits(Predict(nanWins, x.Count, TiePolicy.First, w), nanPositions: true)))
        {
            problem = $"{Describe(conventions, Nan.Key, "NaN wins and the last NaN receives the gradient (PyTorch's rule)")}, where nan_rule={PoolingRuleNames.Name(rule)} is required";
            breaks = Nan.Key;
        }
        return new ConventionJudgement(problem is null, [.. conventions], problem, breaks);
    }

    private static string Describe(List<Convention> conventions, string key, string pytorch) =>
        conventions.FirstOrDefault(c => c.Situation == key)?.Text ?? pytorch;

    private static Convention? NanConvention(NanRouting? routing, bool toFirst, bool valid, int ignored, int propagated, int nanOutputs)
    {
        if (!valid) return null;
        int places = ignored + nanOutputs;
        if (ignored > 0 && propagated > 0)
            return new(Nan.Key, "mixed", places, $"NaN wins in {propagated} window(s) and loses every comparison in {ignored} (PyTorch: NaN always wins)");
        if (ignored > 0)
            return nanOutputs == 0 || toFirst
                ? new(Nan.Key, "ignore", places, $"NaN loses every comparison (the output is the maximum of the other values), in {ignored} window(s) (PyTorch: NaN wins)")
                : new(Nan.Key, "mixed", places, $"NaN loses every comparison in {ignored} window(s); windows of NaNs only route their gradient otherwise than to their first NaN (PyTorch: NaN wins)");
        return routing switch
        {
            NanRouting.Last => null,
            NanRouting.First => new(Nan.Key, "propagate_first", places, $"NaN wins and the first NaN receives the gradient, in {nanOutputs} window(s) (PyTorch: the last NaN)"),
            NanRouting.Split => new(Nan.Key, "propagate_split", places, $"NaN wins and the window's NaNs share the gradient, in {nanOutputs} window(s) (PyTorch: the last NaN receives it)"),
            NanRouting.None => new(Nan.Key, "propagate_none", places, $"NaN wins and the window passes no gradient, in {nanOutputs} window(s) (PyTorch: the last NaN receives it)"),
            _ => new(Nan.Key, "other", places, $"NaN wins and the gradient reaches the window's NaNs in another valid way, in {nanOutputs} window(s) (PyTorch: the last NaN receives it)"),
        };
    }

    private static bool NanMeets(NanRule rule, List<Window> windows, Func<NanRouting, bool> routes)
    {
        if (rule == NanRule.Ignore) return windows.All(w => !w.HoldsNaN || w.AllNaN || !w.OutputNaN) && routes(NanRouting.First);
        return windows.All(w => !w.HoldsNaN || w.OutputNaN) && routes(Routing(rule));
    }

    private static NanRouting Routing(NanRule rule) => rule switch
    {
        NanRule.PropagateFirst or NanRule.Ignore => NanRouting.First,
        NanRule.PropagateSplit => NanRouting.Split,
        NanRule.PropagateNone => NanRouting.None,
        _ => NanRouting.Last,
    };

    /// <summary>The answer's windows with the rule each output shows; null when an output is no rule's (not the window's maximum).</summary>
    private static List<Window>? Windows(MaxPool op, Tensor x, Tensor dy, Tensor y, AnswerComparer compare)
    {
        var g = op.GeometryFor(x.Shape);
        int planes = x.Shape[0] * x.Shape[1];
        var taps = new int[g.MaxWindowSize];
        var kt = new int[g.MaxWindowSize];
        var maxima = new int[g.MaxWindowSize];
        var list = new List<Window>(planes * g.OutputPlaneSize);
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Span.Slice(p * g.InputPlaneSize, g.InputPlaneSize);
            for (int o = 0; o < g.OutputPlaneSize; o++)
            {
                int n = g.Gather(o, taps, kt);
                var nan = new List<int>();
                for (int k = 0; k < n; k++) if (double.IsNaN(plane[taps[k]])) nan.Add(p * g.InputPlaneSize + taps[k]);
                // The maxima of the numbers (NaN ignored); a window of NaNs has none.
                int m = MaxPool.Maxima(plane, taps.AsSpan(0, n), NanRule.Ignore, maxima);
                var best = new List<int>();
                for (int k = 0; k < m; k++) if (!double.IsNaN(plane[maxima[k]])) best.Add(p * g.InputPlaneSize + maxima[k]);
                double max = best.Count > 0 ? plane[maxima[0]] : double.NaN;
                double out_ = DtypeTolerance.Round(y.At(p * g.OutputPlaneSize + o), compare.Dtype);
                bool outNan = double.IsNaN(out_);
                if (nan.Count == 0 ? out_ != max : best.Count == 0 ? !outNan : !outNan && out_ != max) return null;
                list.Add(new Window(p, o, dy.At(p * g.OutputPlaneSize + o), [.. outNan ? nan : best], outNan, nan.Count > 0, best.Count == 0));
            }
        }
        return list;
    }

    /// <summary>The gradient the windows give under one tie policy and one routing of NaN windows, accumulated in window order.</summary>
    private static double[] Predict(List<Window> windows, int count, TiePolicy tie, NanRouting routing)
    {
        var dx = new double[count];
        foreach (var w in windows)
        {
            var r = w.Receivers;
            if (w.OutputNaN)
                switch (routing)
                {
                    case NanRouting.Last: dx[r[^1]] += w.Gradient; break;
                    case NanRouting.First: dx[r[0]] += w.Gradient; break;
                    case NanRouting.Split: foreach (var i in r) dx[i] += r.Length > 1 ? w.Gradient / r.Length : w.Gradient; break;
                    case NanRouting.None: break;
                }
            else if (r.Length == 1) dx[r[0]] += w.Gradient;
            else
                switch (tie)
                {
                    case TiePolicy.First: dx[r[0]] += w.Gradient; break;
                    case TiePolicy.Last: dx[r[^1]] += w.Gradient; break;
                    case TiePolicy.Split: foreach (var i in r) dx[i] += w.Gradient / r.Length; break;
                    default: foreach (var i in r) dx[i] += w.Gradient; break;
                }
        }
        return dx;
    }

    /// <summary>The windows' receivers grouped into components that share receivers (the windows of each, and its positions).</summary>
    private static List<(List<Window> Windows, List<int> Positions)> Components(List<Window> windows)
    {
        var parent = new Dictionary<int, int>();
        int Find(int i) { while (parent[i] != i) i = parent[i] = parent[parent[i]]; return i; }
        foreach (var w in windows)
            foreach (var r in w.Receivers)
            {
                parent.TryAdd(r, r);
                int a = Find(r), b = Find(w.Receivers[0]);
                if (a != b) parent[a] = b;
            }
        var byRoot = new Dictionary<int, (List<Window> Windows, List<int> Positions)>();
        foreach (var i in parent.Keys.Order())
        {
            int root = Find(i);
            if (!byRoot.TryGetValue(root, out var c)) byRoot[root] = c = ([], []);
            c.Positions.Add(i);
        }
        foreach (var w in windows) byRoot[Find(w.Receivers[0])].Windows.Add(w);
        return [.. byRoot.Values];
    }

    /// <summary>
    /// Whether the answer's gradient on one part's positions (NaN or not) is some valid split of these windows'
    /// gradients: positions no window reaches get nothing, and each component of windows sharing receivers is a
    /// feasible split (or, with <paramref name="allowNone"/>, passes nothing at all). The first component that is
    /// neither comes back in <paramref name="failing"/>.
    /// </summary>
    private static bool Splits(List<Window> windows, Tensor x, Tensor dx, AnswerComparer compare, bool[] nanAt, bool nanPositions, bool allowNone,
        out (List<Window> Windows, List<int> Positions)? failing)
    {
        failing = null;
        var reached = new HashSet<int>(windows.SelectMany(w => w.Receivers));
        for (int i = 0; i < x.Count; i++)
            if (nanAt[i] == nanPositions && !reached.Contains(i) && !compare.Agrees(Key, i, 0, dx.At(i)))
            {
                failing = ([], [i]);
                return false;
            }
        foreach (var c in Components(windows))
        {
            var local = c.Positions.Select((p, k) => (p, k)).ToDictionary(t => t.p, t => t.k);
            var got = c.Positions.Select(p => DtypeTolerance.Round(dx.At(p), compare.Dtype)).ToArray();
            var allowance = c.Positions.Select(p => compare.Allowance(Key, p)).ToArray();
            if (got.Any(v => !double.IsFinite(v))) { failing = c; return false; }
            var parts = c.Windows.Select(w => (w.Gradient, w.Receivers.Select(r => local[r]).ToArray())).ToList();
            if (SplitFeasibility.Feasible(parts, got, allowance)) continue;
            if (allowNone && c.Positions.All(p => compare.Agrees(Key, p, 0, dx.At(p)))) continue;
            failing = c;
            return false;
        }
        return true;
    }

    /// <summary>Why one part's gradient is no valid split: the first position or component that fails, in words.</summary>
    private static string Infeasibility(List<Window> windows, MaxPool op, Tensor x, Tensor dx, AnswerComparer compare, bool[] nanAt, bool nanPositions)
    {
        Splits(windows, x, dx, compare, nanAt, nanPositions, allowNone: nanPositions, out var failing);
        if (failing is not { } c) return "the gradient is no valid split of the windows' gradients";
        string At(int i) => $"input[{string.Join(", ", x.Shape.Coordinates(i))}]";
        if (c.Windows.Count == 0)
        {
            int i = c.Positions[0];
            return $"{At(i)} = {Tensor.FormatNumber(x.At(i))} receives {Tensor.FormatNumber(dx.At(i))} but is not {(nanPositions ? "a NaN that wins" : "a maximum")} of any window containing it";
        }
        var g = op.GeometryFor(x.Shape);
        string WindowAt(Window w) => $"({string.Join(", ", x.Shape.Coordinates(w.Plane * g.InputPlaneSize).Take(2).Concat(g.OutputCoordinates(w.Output)))})";
        double passes = c.Windows.Sum(w => w.Gradient), received = c.Positions.Sum(p => dx.At(p));
        var receivers = string.Join(", ", c.Positions.Take(6).Select(p => $"{At(p)} = {Tensor.FormatNumber(x.At(p))} gets {Tensor.FormatNumber(dx.At(p))}")) + (c.Positions.Count > 6 ? ", ..." : "");
        string what = nanPositions ? "NaNs" : "tied maxima";
        if (c.Windows.Count == 1)
        {
            var w = c.Windows[0];
            bool opposite = c.Positions.Any(p => dx.At(p) * w.Gradient < 0 && !compare.Agrees(Key, p, 0, dx.At(p)));
            return $"window {WindowAt(w)} passes {Tensor.FormatNumber(w.Gradient)} to its {what} ({receivers}): " +
                   (opposite ? "a share of the opposite sign" : $"{Tensor.FormatNumber(received)} in all") + ", which no split of its gradient gives";
        }
        return $"the {c.Windows.Count} windows {string.Join(", ", c.Windows.Take(4).Select(WindowAt))}{(c.Windows.Count > 4 ? ", ..." : "")} share {what} and pass " +
               $"{Tensor.FormatNumber(passes)} in all; their {what} ({receivers}) received {Tensor.FormatNumber(received)}, which no split of each window's gradient over its own {what} gives";
    }
}
