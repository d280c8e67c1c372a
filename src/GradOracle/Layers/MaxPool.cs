// Over ~400 lines on purpose: max pooling's forward, its backward under every tie and NaN rule, its descriptor
// and its invariants are one layer told whole; how answers are judged against the valid set is in MaxPoolConventions.cs.
using System.Collections.Immutable;
using GradOracle.Geometry;
using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// Max pooling (strided, adaptive or global) with a declared tie policy and NaN rule.
/// Forward takes the maximum of each window; backward sends each window's gradient to its maximum
/// (or maxima, under <see cref="TiePolicy.Split"/> and <see cref="TiePolicy.All"/>), accumulating where
/// windows overlap. -0.0 and +0.0 are a tie.
/// </summary>
public sealed class MaxPool : IOp, IHasWindows, IHasInvariants, IHasJacobianStructure, IHasConventions, IHasMagnitudes, IExplainsOutputShape
{
    private readonly string kind;

    private MaxPool(string kind, PoolingWindows windows, TiePolicy tiePolicy, NanRule nanRule)
    {
        this.kind = kind;
        Windows = windows;
        TiePolicy = tiePolicy;
        NanRule = nanRule;
    }

    /// <summary>max_poolNd with PyTorch's parameters (stride defaults to the kernel size).</summary>
    public static MaxPool Create(int rank, int[] kernelSize, int[]? stride = null, int[]? padding = null, int[]? dilation = null,
        bool ceilMode = false, TiePolicy tiePolicy = TiePolicy.First, NanRule nanRule = NanRule.Propagate)
        => new("max_pool", PoolingWindows.Strided(rank, kernelSize, stride, padding, dilation, ceilMode), tiePolicy, nanRule);

    /// <summary>adaptive_max_poolNd to a fixed output size.</summary>
    public static MaxPool Adaptive(int rank, int[] outputSize, TiePolicy tiePolicy = TiePolicy.First, NanRule nanRule = NanRule.Propagate)
        => new("adaptive_max_pool", PoolingWindows.Adaptive(rank, outputSize), tiePolicy, nanRule);

    /// <summary>Global max pooling: one window over each whole plane.</summary>
    public static MaxPool Global(int rank, TiePolicy tiePolicy = TiePolicy.First, NanRule nanRule = NanRule.Propagate)
        => new("global_max_pool", PoolingWindows.Global(rank), tiePolicy, nanRule);

    /// <summary>max_pool{r}d.</summary>
    public static OpDescriptor<MaxPool> Descriptor { get; } = Described("max_pool{r}d",
        [.. PoolingWindows.StridedAttributes(dilated: true), .. RuleAttributes],
        a => Create(a.Rank, a.Ints("kernel_size"), a.OptionalInts("stride"), a.Ints("padding", [0]), a.Ints("dilation", [1]),
            a.Bool("ceil_mode", false), Tie(a), Nan(a)),
        d =>
        {
            var (k, s, p, ceil) = d.Window(4);
            return d.Case(Create(d.Rank, k, s, p, d.Dilation(), ceil), NamedTensors.Input(d.PoolInput(allowNan: true)));
        });

    /// <summary>adaptive_max_pool{r}d.</summary>
    public static OpDescriptor<MaxPool> AdaptiveDescriptor { get; } = Described("adaptive_max_pool{r}d",
        [PoolingWindows.OutputSizeAttribute, .. RuleAttributes],
        a => Adaptive(a.Rank, a.Ints("output_size"), Tie(a), Nan(a)),
        d => d.Case(Adaptive(d.Rank, [.. d.Spatial.Select(n => d.Int(1, n + 1))]), NamedTensors.Input(d.PoolInput(allowNan: true)), "adaptive"));

    /// <summary>global_max_pool{r}d: libtorch's adaptive_max_pool{r}d to size 1.</summary>
    public static OpDescriptor<MaxPool> GlobalDescriptor { get; } = Described("global_max_pool{r}d", RuleAttributes,
        a => Global(a.Rank, Tie(a), Nan(a)),
        d => d.Case(Global(d.Rank), NamedTensors.Input(d.PoolInput(allowNan: true)), "global"), drawWeight: 0.5, torchName: PoolingWindows.GlobalTorchName);

    private static OpAttribute[] RuleAttributes =>
    [
        new("tie_policy", $"one of {string.Join(", ", PoolingRuleNames.TiePolicies)}: which tied maxima receive the gradient", "'first'"),
        new("nan_rule", $"one of {string.Join(", ", PoolingRuleNames.NanRules)}: whether NaN wins a window, and which NaN receives", "'propagate'"),
    ];

    private static TiePolicy Tie(OpArguments a) => a.Choice("tie_policy", TiePolicy.First, PoolingRuleNames.TiePolicies, s => PoolingRuleNames.ParseTie(s));

    private static NanRule Nan(OpArguments a) => a.Choice("nan_rule", NanRule.Propagate, PoolingRuleNames.NanRules, s => PoolingRuleNames.ParseNan(s));

    // What the three kinds share: values and routing are selections, compared bit for bit.
    private static OpDescriptor<MaxPool> Described(string name, OpAttribute[] attributes, Func<OpArguments, MaxPool> build, Func<CaseDraw, CheckCase> draw, double drawWeight = 1,
        Func<string, string>? torchName = null) => new()
    {
        Name = name,
        Inputs = [new("input")],
        Attributes = attributes,
        Build = build,
        Exact = _ => true,
        Kinks = [MaxPoolConventions.Ties, MaxPoolConventions.Nan],
        Invariants = [OnlyAtMaxima, PoolingInvariants.SumPreserved, OneReceiverPerWindow, PoolingInvariants.Euler],
        TorchLacks = m => m.TiePolicy != TiePolicy.First || m.NanRule != NanRule.Propagate ? "libtorch follows tie_policy=first and nan_rule=propagate only" : null,
        TorchCall = m => m.Windows.TorchEquivalent(m.Name, m.Attributes),
        SelectedIndices = (m, inputs) => m.ForwardWithIndices(inputs["input"]).Indices,
        KnownBugs = Bugs,
        DrawCase = draw,
        DrawWeight = drawWeight,
        TorchName = torchName ?? (n => n),
    };

    private static IEnumerable<BugHypothesis> Bugs(MaxPool m, NamedTensors inputs, Tensor dy)
    {
        var x = inputs["input"];
        if (!m.GeometryFor(x.Shape).WindowsOverlap) yield break;
        yield return BugHypothesis.InTensor("grads.input", "overlapping windows overwrite each other's gradient instead of accumulating", () => m.Overwriting(x, dy));
        yield return BugHypothesis.InTensor("grads.input", "overlapping windows overwrite each other's gradient instead of accumulating, each writing its whole window, zeros included (dx[window] = mask·dy)",
            () => m.WindowOverwriting(x, dy, everyTie: false));
        yield return BugHypothesis.InTensor("grads.input", "overlapping windows overwrite each other's gradient, each writing its whole window (dx[window] = mask·dy), " +
            "and every tied maximum gets the window's full gradient (mask = window == max)", () => m.WindowOverwriting(x, dy, everyTie: true));
    }

    /// <summary>The same pooling under another tie policy and NaN rule.</summary>
    public MaxPool WithRules(TiePolicy tiePolicy, NanRule nanRule) => new(kind, Windows, tiePolicy, nanRule);

    /// <summary>The window layout.</summary>
    public PoolingWindows Windows { get; }

    /// <inheritdoc/>
    public string OutputShapeRule(NamedTensors inputs) => $"(N, C, *output size), {Windows.SizeRule(inputs["input"].Shape.Slice(2))}";

    /// <summary>The declared tie policy.</summary>
    public TiePolicy TiePolicy { get; }

    /// <summary>The declared NaN rule.</summary>
    public NanRule NanRule { get; }

    /// <inheritdoc/>
    public string Name => $"{kind}{Windows.Rank}d";

    /// <inheritdoc/>
    public OpAttributes Attributes => Windows.Attributes.With(("tie_policy", PoolingRuleNames.Name(TiePolicy)), ("nan_rule", PoolingRuleNames.Name(NanRule)));

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    /// <summary>The geometry for an input of shape (N, C, *spatial).</summary>
    public WindowGeometry GeometryFor(Shape inputShape) => Windows.For(inputShape);

    /// <summary>Forward: pooled values and recorded indices.</summary>
    public MaxPoolResult ForwardWithIndices(Tensor input)
    {
        var (output, indices, outShape) = Pooled(input, withIndices: true);
        return new MaxPoolResult(Tensor.Wrap(outShape, output), new IndexTensor(outShape, ImmutableArray.Create(indices!)));
    }

    /// <summary>Each window's selected value and, if asked, its recorded index, plane by plane.</summary>
    private (double[] Output, long[]? Indices, Shape OutShape) Pooled(Tensor input, bool withIndices)
    {
        var (g, planes, outShape) = Windows.Begin(input);
        var output = new double[outShape.Count];
        var indices = withIndices ? new long[outShape.Count] : null;
        var windows = PlaneWindows.Of(g);
        bool plain = IsPlain;
        windows.ForEachPlane(planes, p =>
        {
            var plane = input.Span.Slice(p * g.InputPlaneSize, g.InputPlaneSize);
            Span<int> winners = g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize];
            for (int o = 0; o < g.OutputPlaneSize; o++)
            {
                int recorded = plain ? FirstMaximum(plane, windows[o]) : SelectRecorded(plane, windows[o], winners);
                output[p * g.OutputPlaneSize + o] = plane[recorded];
                if (indices is not null) indices[p * g.OutputPlaneSize + o] = recorded;
            }
        });
        return (output, indices, outShape);
    }

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs)
    {
        var (output, _, outShape) = Pooled(inputs["input"], withIndices: false);
        return Tensor.Wrap(outShape, output);
    }

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var input = inputs["input"];
        var (g, planes, _) = Windows.Begin(input, gradOutput);
        var dx = new double[input.Count];
        var windows = PlaneWindows.Of(g);
        bool plain = IsPlain;
        windows.ForEachPlane(planes, p =>
        {
            var plane = input.Span.Slice(p * g.InputPlaneSize, g.InputPlaneSize);
            var dy = gradOutput.Span;
            var dplane = dx.AsSpan(p * g.InputPlaneSize, g.InputPlaneSize);
            Span<int> winners = g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize];
            for (int o = 0; o < g.OutputPlaneSize; o++)
            {
                if (plain)
                {
                    dplane[FirstMaximum(plane, windows[o])] += dy[p * g.OutputPlaneSize + o];
                    continue;
                }
                int w = Select(plane, windows[o], winners, out _, out bool shared);
                double share = shared ? dy[p * g.OutputPlaneSize + o] / w : dy[p * g.OutputPlaneSize + o];
                for (int i = 0; i < w; i++) dplane[winners[i]] += share; // += : overlapping windows accumulate
            }
        });
        return NamedTensors.Input(Tensor.Wrap(input.Shape, dx));
    }

    private int SelectRecorded(ReadOnlySpan<double> plane, ReadOnlySpan<int> taps, Span<int> winners)
    {
        Select(plane, taps, winners, out int recorded, out _);
        return recorded;
    }

    /// <summary>PyTorch's rules (tie policy first, NaN rule propagate), for which <see cref="FirstMaximum"/> is <see cref="Select"/>.</summary>
    private bool IsPlain => TiePolicy == TiePolicy.First && NanRule == NanRule.Propagate;

    /// <summary>
    /// What <see cref="Select"/> records and routes to under PyTorch's rules, in one scan: the window's last NaN if it has
    /// one, else its first maximum (by ==, so -0.0 ties +0.0 and the first of them wins).
    /// </summary>
    private static int FirstMaximum(ReadOnlySpan<double> plane, ReadOnlySpan<int> taps)
    {
        int first = taps[0], nan = -1;
        double best = plane[first];
        foreach (int t in taps)
        {
            double v = plane[t];
            if (double.IsNaN(v)) nan = t;
            else if (v > best || double.IsNaN(best)) (best, first) = (v, t);
        }
        return nan >= 0 ? nan : first;
    }

    /// <summary>
    /// The positions of one window that receive its gradient under the declared policy and NaN rule, and
    /// the recorded index (the forward's argmax). Returns how many receive it (0 under
    /// <see cref="NanRule.PropagateNone"/> when NaN wins); <paramref name="shared"/>: they share it equally.
    /// </summary>
    internal int Select(ReadOnlySpan<double> plane, ReadOnlySpan<int> taps, Span<int> winners, out int recorded, out bool shared)
    {
        int ties = Maxima(plane, taps, NanRule, winners);
        shared = false;
        if (double.IsNaN(plane[winners[0]]))
        {
            // NaN wins (or, under Ignore, a window of NaNs records its first element). NaN never equals NaN, so
            // NaNs are not ties: the NaN rule alone says which receives; where none or several do, the index is
            // PyTorch's, the last NaN.
            recorded = NanRule is NanRule.Ignore or NanRule.PropagateFirst ? winners[0] : winners[ties - 1];
            switch (NanRule)
            {
                case NanRule.PropagateFirst: return 1;
                case NanRule.PropagateSplit: shared = ties > 1; return ties;
                case NanRule.PropagateNone: return 0;
                default: winners[0] = recorded; return 1;
            }
        }
        if (ties == 1) { recorded = winners[0]; return 1; }
        switch (TiePolicy)
        {
            case TiePolicy.First: recorded = winners[0]; return 1;
            case TiePolicy.Last: recorded = winners[0] = winners[ties - 1]; return 1;
            default: recorded = winners[0]; shared = TiePolicy == TiePolicy.Split; return ties;
        }
    }

    /// <summary>
    /// All maxima of a window in scan order: every tie (by ==, so -0.0 ties +0.0), or where NaN wins (every rule
    /// but <see cref="NanRule.Ignore"/>) every NaN, or for a window with nothing comparable its first tap.
    /// </summary>
    internal static int Maxima(ReadOnlySpan<double> plane, ReadOnlySpan<int> taps, NanRule nanRule, Span<int> maxima)
    {
        int n = 0;
        if (nanRule.NanWins())
        {
            foreach (int t in taps) if (double.IsNaN(plane[t])) maxima[n++] = t;
            if (n > 0) return n;
        }
        double best = double.NaN;
        foreach (int t in taps)
        {
            double v = plane[t];
            if (double.IsNaN(v)) continue;
            if (double.IsNaN(best) || v > best) { best = v; n = 0; maxima[n++] = t; }
            else if (v == best) maxima[n++] = t;
        }
        if (n == 0) maxima[n++] = taps[0]; // all NaN under Ignore: PyTorch-style initial index
        return n;
    }

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) => Windows.Structure(inputs["input"].Shape);

    /// <inheritdoc/>
    public IReadOnlyList<Situation> Situations => Descriptor.Kinks;

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, string> Choices => new Dictionary<string, string>
    {
        [MaxPoolConventions.Ties.Key] = PoolingRuleNames.Name(TiePolicy), [MaxPoolConventions.Nan.Key] = PoolingRuleNames.Name(NanRule),
    };

    /// <inheritdoc/>
    public IReadOnlyList<string> SituationsAt(NamedTensors inputs) => MaxPoolConventions.SituationsAt(this, inputs);

    /// <inheritdoc/>
    public IOp WithConventions(IReadOnlyDictionary<string, string> choices) => MaxPoolConventions.WithConventions(this, choices);

    /// <inheritdoc/>
    public ConventionJudgement Judge(NamedTensors inputs, Tensor gradOutput, OpResult answer, AnswerComparer compare, IReadOnlyDictionary<string, string> required) =>
        MaxPoolConventions.Judge(this, inputs, gradOutput, answer, compare, required);

    /// <summary>
    /// The output is a selection (magnitude 0: exact); an input's gradient sums the gradients of the windows that may
    /// route to it under any valid choice: those it is a tied maximum of (NaN aside), and those holding it as a NaN. So any
    /// valid routing is measured against the same magnitudes, and an input no window may reach is compared exactly.
    /// </summary>
    public OpResult MagnitudesOf(NamedTensors inputs, Tensor gradOutput)
    {
        var x = inputs["input"];
        var (g, planes, outShape) = Windows.Begin(x, gradOutput);
        var dx = new double[x.Count];
        Span<int> taps = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]), kernelTaps = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]), maxima = (g.TapsFitStack ? stackalloc int[g.MaxWindowSize] : new int[g.MaxWindowSize]);
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Span.Slice(p * g.InputPlaneSize, g.InputPlaneSize);
            for (int o = 0; o < g.OutputPlaneSize; o++)
            {
                int n = g.Gather(o, taps, kernelTaps);
                double w = Math.Abs(gradOutput.At(p * g.OutputPlaneSize + o));
                int m = Maxima(plane, taps[..n], NanRule.Ignore, maxima); // the maxima of the numbers (or the first of all-NaN taps)
                for (int k = 0; k < m; k++) if (!double.IsNaN(plane[maxima[k]])) dx[p * g.InputPlaneSize + maxima[k]] += w;
                for (int k = 0; k < n; k++) if (double.IsNaN(plane[taps[k]])) dx[p * g.InputPlaneSize + taps[k]] += w;
            }
        }
        return new OpResult(Tensor.Create(outShape, _ => 0.0), NamedTensors.Input(Tensor.Wrap(x.Shape, dx)));
    }

    /// <inheritdoc/>
    public InvariantReport CheckInvariants(NamedTensors inputs, Tensor gradOutput, NamedTensors gradients)
        => InvariantsOf(this, inputs["input"], gradOutput, gradients["input"]);

    /// <summary>The backward with overlapping windows overwriting each other instead of accumulating (a known bug).</summary>
    private Tensor Overwriting(Tensor x, Tensor dy)
    {
        var g = GeometryFor(x.Shape);
        int planes = x.Shape[0] * x.Shape[1];
        var dx = new double[x.Count];
        var taps = new int[g.MaxWindowSize];
        var kt = new int[g.MaxWindowSize];
        var winners = new int[g.MaxWindowSize];
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Span.Slice(p * g.InputPlaneSize, g.InputPlaneSize);
            for (int o = 0; o < g.OutputPlaneSize; o++)
            {
                int n = g.Gather(o, taps, kt);
                int w = Select(plane, taps.AsSpan(0, n), winners, out _, out bool shared);
                for (int i = 0; i < w; i++) dx[p * g.InputPlaneSize + winners[i]] = shared ? dy.At(p * g.OutputPlaneSize + o) / w : dy.At(p * g.OutputPlaneSize + o);
            }
        }
        return Tensor.FromArray(x.Shape, dx);
    }

    /// <summary>
    /// The backward written window by window over the whole window, zeros included (<c>dx[window] = mask·dy</c>), a known
    /// bug: a later window wipes out what an earlier one gave the inputs they share. The mask is the first maximum, or with
    /// <paramref name="everyTie"/> every tied maximum (<c>mask = window == max</c>, which no NaN equals).
    /// </summary>
    private Tensor WindowOverwriting(Tensor x, Tensor dy, bool everyTie)
    {
        var g = GeometryFor(x.Shape);
        int planes = x.Shape[0] * x.Shape[1];
        var dx = new double[x.Count];
        var taps = new int[g.MaxWindowSize];
        var kt = new int[g.MaxWindowSize];
        var maxima = new int[g.MaxWindowSize];
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Span.Slice(p * g.InputPlaneSize, g.InputPlaneSize);
            for (int o = 0; o < g.OutputPlaneSize; o++)
            {
                int n = g.Gather(o, taps, kt);
                int k = Maxima(plane, taps.AsSpan(0, n), NanRule, maxima);
                var receivers = everyTie && double.IsNaN(plane[maxima[0]]) ? [] : maxima.Take(everyTie ? k : 1).ToHashSet();
                for (int i = 0; i < n; i++) dx[p * g.InputPlaneSize + taps[i]] = receivers.Contains(taps[i]) ? dy.At(p * g.OutputPlaneSize + o) : 0;
            }
        }
        return Tensor.FromArray(x.Shape, dx);
    }

    /// <summary>Name: the gradient lands only on window maxima.</summary>
    public const string OnlyAtMaxima = "gradient only at window maxima";
    /// <summary>Name: first/last give each window's gradient to one input.</summary>
    public const string OneReceiverPerWindow = "at most one input per window receives its gradient";

    /// <summary>Max pooling: gradient only at maxima; sum preserved (scaled by tie counts under All); one receiver per window under First/Last; PoolingInvariants.Euler's identity.</summary>
    private static InvariantReport InvariantsOf(MaxPool op, Tensor input, Tensor gradOutput, Tensor gradInput)
    {
        var r = new InvariantReport.Builder();
        var g = op.GeometryFor(input.Shape);
        if (!PoolingInvariants.ShapesFit(r, input, gradInput, gradOutput, PoolingWindows.OutputShape(input.Shape, g))) return r.Build();
        var x = input.Span; var dx = gradInput.ToArray(); var dy = gradOutput.ToArray();
        int planes = input.Shape[0] * input.Shape[1];
        var maxOf = new int[input.Count]; // how many windows each input position is a maximum of
        var taps = new int[g.MaxWindowSize]; var kt = new int[g.MaxWindowSize]; var maxima = new int[g.MaxWindowSize];
        double expectedSum = 0, magnitude = 0;
        var tieCounts = new int[planes * g.OutputPlaneSize];
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Slice(p * g.InputPlaneSize, g.InputPlaneSize);
            for (int o = 0; o < g.OutputPlaneSize; o++)
            {
                int n = g.Gather(o, taps, kt);
                int m = Layers.MaxPool.Maxima(plane, taps.AsSpan(0, n), op.NanRule, maxima);
                for (int i = 0; i < m; i++) maxOf[p * g.InputPlaneSize + maxima[i]]++;
                bool nanWins = double.IsNaN(plane[maxima[0]]);
                // What the window passes on, in units of its gradient: Theano's rule copies it to every tie; a NaN
                // window under propagate_none passes nothing.
                int receivers = nanWins ? (op.NanRule == NanRule.PropagateNone ? 0 : 1) : op.TiePolicy == TiePolicy.All ? m : 1;
                tieCounts[p * g.OutputPlaneSize + o] = nanWins ? 0 : m; // NaNs are not ties: the NaN rule routes them
                double w = dy[p * g.OutputPlaneSize + o];
                expectedSum += w * receivers;
                magnitude += Math.Abs(w) * receivers;
            }
        }

        var stray = Enumerable.Range(0, dx.Length).Where(i => dx[i] != 0 && maxOf[i] == 0).ToList();
        if (stray.Count == 0) r.Checked(OnlyAtMaxima);
        else
        {
            var i = stray[0];
            r.Violated(OnlyAtMaxima, $"{stray.Count} input(s) receive gradient without being the maximum of any window containing them; " +
                $"first: input{PoolingInvariants.Coords(input.Shape, i)} = {Tensor.FormatNumber(x[i])} gets {Tensor.FormatNumber(dx[i])}");
        }

        r.SumsAgree(PoolingInvariants.SumPreserved, PoolingInvariants.Sum(dx), expectedSum, magnitude, dx.Length + dy.Length);

        if (op.TiePolicy is TiePolicy.First or TiePolicy.Last)
        {
            string? bad = null;
            for (int p = 0; p < planes && bad is null; p++)
            {
                var plane = x.Slice(p * g.InputPlaneSize, g.InputPlaneSize);
                for (int o = 0; o < g.OutputPlaneSize && bad is null; o++)
                {
                    if (tieCounts[p * g.OutputPlaneSize + o] < 2) continue;
                    int n = g.Gather(o, taps, kt);
                    int m = Layers.MaxPool.Maxima(plane, taps.AsSpan(0, n), op.NanRule, maxima);
                    // Only maxima that no other window claims can be credited to this window alone.
                    int got = 0;
                    for (int i = 0; i < m; i++)
                        if (dx[p * g.InputPlaneSize + maxima[i]] != 0 && maxOf[p * g.InputPlaneSize + maxima[i]] == 1) got++;
                    if (got > 1)
                        bad = $"output window {PoolingInvariants.OutCoords(input.Shape, g, p, o)} gave its gradient to {got} of its {m} tied maxima; " +
                              $"tie_policy={op.TiePolicy.ToString().ToLowerInvariant()} sends it to one";
                }
            }
            if (bad is null) r.Checked(OneReceiverPerWindow); else r.Violated(OneReceiverPerWindow, bad);
        }

        if (op.TiePolicy != TiePolicy.All)
            PoolingInvariants.EulerIdentity(r, input, gradInput, gradOutput, op.ForwardWithIndices(input).Output);
        return r.Build();
    }
}
