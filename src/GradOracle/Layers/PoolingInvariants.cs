using GradOracle.Geometry;
using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// Invariants of the pooling layers, as functions of any input gradient (ours or another
/// implementation's). Each returns every invariant it checked and every one that broke.
/// </summary>
public static class PoolingInvariants
{
    /// <summary>Name: the gradient lands only on window maxima.</summary>
    public const string OnlyAtMaxima = "gradient only at window maxima";
    /// <summary>Name: what reaches the input sums to what the windows pass on.</summary>
    public const string SumPreserved = "sum(dx) = what the windows pass on";
    /// <summary>Name: first/last give each window's gradient to one input.</summary>
    public const string OneReceiverPerWindow = "at most one input per window receives its gradient";
    /// <summary>Name: Euler's identity for positively homogeneous layers.</summary>
    public const string Euler = "<x, dx> = <dy, y> (homogeneous of degree 1)";
    /// <summary>Name: global average pooling spreads dy evenly.</summary>
    public const string EvenSpread = "dx = dy / spatial size everywhere";
    /// <summary>Name: stochastic pooling routes only to sampled positions.</summary>
    public const string OnlyAtSelected = "gradient only at selected positions";
    /// <summary>Name: the gradient has the input's shape.</summary>
    public const string ShapeMatches = "dx has the input's shape";

    /// <summary>Max pooling: gradient only at maxima; sum preserved (scaled by tie counts under All); one receiver per window under First/Last; Euler's identity.</summary>
    public static InvariantReport MaxPool(MaxPool op, Tensor input, Tensor gradOutput, Tensor gradInput)
    {
        var r = new InvariantReport.Builder();
        var g = op.GeometryFor(input.Shape);
        if (!ShapesFit(r, input, gradInput, gradOutput, PoolingWindows.OutputShape(input.Shape, g))) return r.Build();
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
                $"first: input{Coords(input.Shape, i)} = {Tensor.FormatNumber(x[i])} gets {Tensor.FormatNumber(dx[i])}");
        }

        r.SumsAgree(SumPreserved, Sum(dx), expectedSum, magnitude, dx.Length + dy.Length);

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
                        bad = $"output window {OutCoords(input.Shape, g, p, o)} gave its gradient to {got} of its {m} tied maxima; " +
                              $"tie_policy={op.TiePolicy.ToString().ToLowerInvariant()} sends it to one";
                }
            }
            if (bad is null) r.Checked(OneReceiverPerWindow); else r.Violated(OneReceiverPerWindow, bad);
        }

        if (op.TiePolicy != TiePolicy.All)
            EulerIdentity(r, input, gradInput, gradOutput, op.ForwardWithIndices(input).Output);
        return r.Build();
    }

    /// <summary>Average pooling: sum(dx) = Σ dy·(in-bounds count / divisor); global pooling also dx = dy/size everywhere; Euler's identity.</summary>
    public static InvariantReport AvgPool(AvgPool op, Tensor input, Tensor gradOutput, Tensor gradInput)
    {
        var r = new InvariantReport.Builder();
        var g = op.Windows.For(input.Shape);
        if (!ShapesFit(r, input, gradInput, gradOutput, PoolingWindows.OutputShape(input.Shape, g))) return r.Build();
        var dx = gradInput.ToArray(); var dy = gradOutput.ToArray();
        int planes = input.Shape[0] * input.Shape[1];
        double expected = 0, copied = 0, magnitude = 0;
        var divisors = new HashSet<double>();
        for (int o = 0; o < g.OutputPlaneSize; o++)
        {
            double divisor = op.Divisor(g, o), cells = g.InBoundsWindowSize(o);
            divisors.Add(divisor);
            for (int p = 0; p < planes; p++)
            {
                double w = dy[p * g.OutputPlaneSize + o];
                expected += w * cells / divisor;
                copied += w * cells;
                magnitude += Math.Abs(w * cells / divisor) + Math.Abs(w);
            }
        }
        r.SumsAgree(SumPreserved, Sum(dx), expected, magnitude, dx.Length + dy.Length, actual =>
            Math.Abs(actual - copied) <= Tolerance.SumRounding(dx.Length + dy.Length, magnitude * Math.Max(1, divisors.Max()))
                ? (divisors.Count == 1
                    ? $"mean-pool gradient copied to every window cell instead of divided by {divisors.First():R}: {divisors.First():R}x too large"
                    : "mean-pool gradient copied to every window cell instead of divided by each window's divisor")
                : "");

        if (op.Name.StartsWith("global_", StringComparison.Ordinal))
        {
            int size = g.InputPlaneSize;
            int bad = Enumerable.Range(0, dx.Length).FirstOrDefault(i => !Tolerance.WithinUlps(dx[i], dy[i / size] / size), -1);
            if (bad < 0) r.Checked(EvenSpread);
            else r.Violated(EvenSpread, $"input{Coords(input.Shape, bad)} gets {Tensor.FormatNumber(dx[bad])}, dy/size = {Tensor.FormatNumber(dy[bad / size])}/{size} = {Tensor.FormatNumber(dy[bad / size] / size)}");
        }
        EulerIdentity(r, input, gradInput, gradOutput, op.Forward(NamedTensors.Input(input)));
        return r.Build();
    }

    /// <summary>Stochastic pooling: in training, gradient only at the sampled positions and sum(dx) = sum(dy); always Euler's identity.</summary>
    public static InvariantReport StochasticPool(StochasticPool op, NamedTensors inputs, Tensor gradOutput, Tensor gradInput)
    {
        var r = new InvariantReport.Builder();
        var input = inputs["input"];
        var g = op.Windows.For(input.Shape);
        if (!ShapesFit(r, input, gradInput, gradOutput, PoolingWindows.OutputShape(input.Shape, g))) return r.Build();
        var dx = gradInput.ToArray(); var dy = gradOutput.ToArray();
        if (op.Training)
        {
            var sel = op.Sample(input, inputs["uniforms"]).Indices;
            var selected = new bool[input.Count];
            for (int i = 0; i < sel.Data.Length; i++) selected[i / g.OutputPlaneSize * g.InputPlaneSize + (int)sel.Data[i]] = true;
            int stray = Enumerable.Range(0, dx.Length).FirstOrDefault(i => dx[i] != 0 && !selected[i], -1);
            if (stray < 0) r.Checked(OnlyAtSelected);
            else r.Violated(OnlyAtSelected, $"input{Coords(input.Shape, stray)} gets {Tensor.FormatNumber(dx[stray])} but no window selected it");
            r.SumsAgree(SumPreserved, Sum(dx), Sum(dy), SumAbs(dy), dx.Length + dy.Length);
        }
        EulerIdentity(r, input, gradInput, gradOutput, op.Forward(inputs));
        return r.Build();
    }

    /// <summary>
    /// A layer with f(a·x) = a·f(x) for a &gt; 0 satisfies &lt;x, ∇&lt;dy, f&gt;&gt; = &lt;dy, f(x)&gt; (Euler):
    /// a check on the whole gradient that needs no finite differences.
    /// </summary>
    internal static void EulerIdentity(InvariantReport.Builder r, Tensor x, Tensor dx, Tensor dy, Tensor y)
    {
        double lhs = 0, rhs = 0, mag = 0;
        for (int i = 0; i < x.Count; i++) { double t = x.At(i) * dx.At(i); lhs += t; mag += Math.Abs(t); }
        for (int j = 0; j < y.Count; j++) { double t = dy.At(j) * y.At(j); rhs += t; mag += Math.Abs(t); }
        if (double.IsFinite(lhs) && double.IsFinite(rhs)) r.SumsAgree(Euler, lhs, rhs, mag, 4 * (x.Count + y.Count));
    }

    private static bool ShapesFit(InvariantReport.Builder r, Tensor input, Tensor dx, Tensor dy, Shape outputShape)
    {
        if (dy.Shape != outputShape)
            throw new ParameterException("grad_output.shape", dy.Shape.ToString(), $"must be the output's shape {outputShape}");
        if (dx.Shape == input.Shape) { r.Checked(ShapeMatches); return true; }
        r.Violated(ShapeMatches, $"dx has shape {dx.Shape}, the input {input.Shape}");
        return false;
    }

    private static double Sum(ReadOnlySpan<double> v) => System.Numerics.Tensors.TensorPrimitives.Sum(v);

    private static double SumAbs(ReadOnlySpan<double> v) => System.Numerics.Tensors.TensorPrimitives.SumOfMagnitudes(v);

    private static string Coords(Shape s, int flat) => "[" + string.Join(", ", s.Coordinates(flat)) + "]";

    private static string OutCoords(Shape input, WindowGeometry g, int plane, int o) =>
        $"[{plane / input[1]}, {plane % input[1]}, {string.Join(", ", g.OutputCoordinates(o))}]";
}
