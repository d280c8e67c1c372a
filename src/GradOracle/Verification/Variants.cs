using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>Variants of reference ops that embody known bugs or other rules, for the diagnosis.</summary>
internal static class Variants
{
    /// <summary>The same max pooling with another tie policy and NaN rule.</summary>
    public static MaxPool WithRules(MaxPool m, TiePolicy tie, NanRule nan) =>
        (MaxPool)OpFactory.Create(m.Name, m.Attrs.With(("tie_policy", PoolingRuleNames.Name(tie)), ("nan_rule", PoolingRuleNames.Name(nan))).Distinct(), ["input"]);

    /// <summary>The op rebuilt with one attribute replaced, or null when that is not a valid op.</summary>
    public static IOp? With(IOp op, NamedTensors inputs, string key, object value) => With(op, inputs, (key, value));

    /// <summary>The op rebuilt with attributes replaced, or null when that is not a valid op.</summary>
    public static IOp? With(IOp op, NamedTensors inputs, params (string Key, object Value)[] changes)
    {
        var attrs = new OpAttributes(op.Attrs.Where(a => changes.All(c => c.Key != a.Key)).Select(a => (a.Key, (object?)a.Value))
            .Concat(changes.Select(c => (c.Key, (object?)c.Value))).ToArray());
        try { return OpFactory.Create(op.Name, attrs, inputs.Names); }
        catch (ParameterException) { return null; }
    }

    private static OpAttributes Distinct(this OpAttributes attrs)
    {
        var seen = new HashSet<string>();
        var list = new List<(string, object?)>();
        foreach (var a in attrs.Reverse()) if (seen.Add(a.Key)) list.Insert(0, (a.Key, a.Value));
        return new OpAttributes(list.ToArray());
    }

    /// <summary>Whether two tensors agree to the precision of <paramref name="dtype"/> (loosely: a hypothesis test, not a verdict).</summary>
    public static bool Same(Tensor? a, Tensor? b, string dtype)
    {
        if (a is null || b is null || a.Shape != b.Shape) return false;
        double scale = Tolerance.MaxAbs(a);
        double tol = dtype == "float64" ? 1e-9 : 64 * DtypeTolerance.UnitRoundoff(dtype);
        for (int i = 0; i < a.Count; i++)
        {
            double x = a.At(i), y = b.At(i);
            if (double.IsNaN(x) || double.IsNaN(y)) { if (double.IsNaN(x) != double.IsNaN(y)) return false; continue; }
            if (double.IsInfinity(x) || double.IsInfinity(y)) { if (x != y) return false; continue; }
            if (Math.Abs(x - y) > tol * (Math.Abs(x) + scale)) return false;
        }
        return true;
    }

    /// <summary>Max pooling's backward with overlapping windows overwriting each other instead of accumulating.</summary>
    public static Tensor MaxPoolOverwrite(MaxPool m, Tensor x, Tensor dy)
    {
        var g = m.GeometryFor(x.Shape);
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
                int w = m.Select(plane, taps.AsSpan(0, n), winners, out _, out bool shared);
                for (int i = 0; i < w; i++) dx[p * g.InputPlaneSize + winners[i]] = shared ? dy.At(p * g.OutputPlaneSize + o) / w : dy.At(p * g.OutputPlaneSize + o);
            }
        }
        return Tensor.FromArray(x.Shape, dx);
    }

    /// <summary>
    /// Max pooling's backward written window by window over the whole window, zeros included (<c>dx[window] = mask·dy</c>):
    /// a later window wipes out what an earlier one gave the inputs they share. The mask is the first maximum, or with
    /// <paramref name="everyTie"/> every tied maximum (<c>mask = window == max</c>, which no NaN equals).
    /// </summary>
    public static Tensor MaxPoolWindowOverwrite(MaxPool m, Tensor x, Tensor dy, bool everyTie)
    {
        var g = m.GeometryFor(x.Shape);
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
                int k = MaxPool.Maxima(plane, taps.AsSpan(0, n), m.NanRule, maxima);
                // mask = window == max: when the max is NaN nothing equals it, and the window writes zeros.
                var receivers = everyTie && double.IsNaN(plane[maxima[0]]) ? [] : maxima.Take(everyTie ? k : 1).ToHashSet();
                for (int i = 0; i < n; i++) dx[p * g.InputPlaneSize + taps[i]] = receivers.Contains(taps[i]) ? dy.At(p * g.OutputPlaneSize + o) : 0;
            }
        }
        return Tensor.FromArray(x.Shape, dx);
    }

    /// <summary>Average pooling's backward with overlapping windows overwriting each other.</summary>
    public static Tensor AvgPoolOverwrite(AvgPool a, Tensor x, Tensor dy)
    {
        var g = a.Windows.For(x.Shape);
        int planes = x.Shape[0] * x.Shape[1];
        var dx = new double[x.Count];
        var taps = new int[g.MaxWindowSize];
        var kt = new int[g.MaxWindowSize];
        for (int p = 0; p < planes; p++)
            for (int o = 0; o < g.OutputPlaneSize; o++)
            {
                int n = g.Gather(o, taps, kt);
                for (int i = 0; i < n; i++) dx[p * g.InputPlaneSize + taps[i]] = dy.At(p * g.OutputPlaneSize + o) / a.Divisor(g, o);
            }
        return Tensor.FromArray(x.Shape, dx);
    }

    /// <summary>A channels-first tensor's data read as channels-last with the same dimensions' roles: (N, C, *S) data taken as (N, *S, C).</summary>
    public static Tensor ReadAsChannelsLast(Tensor t)
    {
        var s = t.Shape;
        int n = s[0], c = s[1], spatial = s.CountFrom(2);
        return Tensor.Create(s, i =>
        {
            int b = i / (c * spatial), ch = i / spatial % c, sp = i % spatial;
            return t.At(b * c * spatial + sp * c + ch);
        });
    }

    /// <summary>The inverse: a channels-first tensor written out channels-last.</summary>
    public static Tensor WriteAsChannelsLast(Tensor t)
    {
        var s = t.Shape;
        int c = s[1], spatial = s.CountFrom(2);
        var d = new double[t.Count];
        for (int i = 0; i < t.Count; i++)
        {
            int b = i / (c * spatial), ch = i / spatial % c, sp = i % spatial;
            d[b * c * spatial + sp * c + ch] = t.At(i);
        }
        return Tensor.FromArray(s, d);
    }

    /// <summary>Scales every element (for "divided by N" hypotheses).</summary>
    public static Tensor Scale(Tensor t, double k) => Tensor.Create(t.Shape, i => t.At(i) * k);

    /// <summary>The op's gradients with dY kept only for the first sample.</summary>
    public static NamedTensors FirstSampleOnly(IOp op, NamedTensors inputs, Tensor dy)
    {
        int per = dy.Count / Math.Max(1, dy.Shape[0]);
        return op.Backward(inputs, Tensor.Create(dy.Shape, i => i < per ? dy.At(i) : 0));
    }

    /// <summary>Batch norm's input gradient without its mean terms: dx̂·invstd only.</summary>
    public static Tensor BatchNormWithoutMeanTerms(BatchNorm bn, NamedTensors inputs, Tensor dy)
    {
        var (_, invStd, _) = bn.Statistics(inputs);
        var x = inputs["input"];
        int c = x.Shape[1], inner = x.Shape.CountFrom(2);
        return Tensor.Create(x.Shape, i => dy.At(i) * (bn.Affine ? inputs["weight"].At(i / inner % c) : 1) * invStd[i / inner % c]);
    }

    /// <summary>Softmax's input gradient using only the Jacobian's diagonal.</summary>
    public static Tensor SoftmaxDiagonal(Softmax s, NamedTensors inputs, Tensor dy)
    {
        var y = new Softmax(s.Dim).Forward(inputs);
        return Tensor.Create(dy.Shape, i => s.Log ? dy.At(i) * (1 - y.At(i)) : dy.At(i) * y.At(i) * (1 - y.At(i)));
    }

    /// <summary>Convolution's input gradient computed with the kernel not rotated (the bug's result equals the right answer for the flipped kernel).</summary>
    public static Tensor ConvolutionUnrotated(Convolution conv, NamedTensors inputs, Tensor dy)
    {
        var w = inputs["weight"];
        int volume = w.Shape.CountFrom(2);
        var flipped = Tensor.Create(w.Shape, i => w.At(i / volume * volume + volume - 1 - i % volume));
        return conv.Backward(inputs.With("weight", flipped), dy)["input"];
    }
}
