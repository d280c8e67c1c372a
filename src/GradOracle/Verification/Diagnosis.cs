using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>
/// Names the likely bug behind a failing case by testing hypotheses: the oracle computes what each known
/// bug would produce for the same inputs (a mean-pool gradient copied, a tie other than declared, windows
/// overwriting, an off-by-one in stride or padding, an unrotated kernel, a batch-size division, missing
/// mean terms, a diagonal-only softmax, a flipped sign, channels-last data) and reports those that match
/// the implementation's answer.
/// </summary>
public static class Diagnosis
{
    private sealed record Hypothesis(string Message, string Tensor, Func<Tensor?> Predict);

    internal static List<string> Explain(WorkItem item, Evaluation ev)
    {
        var found = new List<string>();
        if (ev.Actual is null) return found;
        var op = item.Oracle;
        var inputs = ev.Inputs;
        var dy = ev.GradOutput;
        var x = inputs["input"];
        Tensor? Grad(string name) => ev.ActualGrads is not null && ev.ActualGrads.Contains(name) ? ev.ActualGrads[name] : null;
        bool outputOk = Variants.Same(ev.Expected, ev.Actual, ev.Dtype);

        foreach (var h in Hypotheses(op, inputs, dy, ev))
        {
            Tensor? predicted;
            try { predicted = h.Predict(); }
            catch (ParameterException) { continue; }
            var actual = h.Tensor == "output" ? ev.Actual : Grad(h.Tensor["grads.".Length..]);
            var expected = h.Tensor == "output" ? ev.Expected : ev.ExpectedGrads![h.Tensor["grads.".Length..]];
            if (predicted is null || Variants.Same(predicted, expected, "float64")) continue; // indistinguishable from right here
            if (Variants.Same(predicted, actual, ev.Dtype)) found.Add($"{h.Tensor}: {h.Message}");
        }

        // Scale and sign, for any tensor, when no specific bug explains it.
        foreach (var (key, (expected, actual)) in ev.Tensors)
        {
            if (!ev.Diffs.Any(d => d.Tensor == key) || found.Any(f => f.StartsWith(key + ":", StringComparison.Ordinal)) || actual.Shape != expected.Shape) continue;
            if (Variants.Same(Variants.Scale(expected, -1), actual, ev.Dtype)) { found.Add($"{key}: sign flipped (actual = -expected everywhere)"); continue; }
            if (Ratio(expected, actual) is { } r && Math.Abs(r - 1) > 1e-6)
                found.Add(r > 1
                    ? $"{key}: {Tensor.FormatNumber(Math.Round(r, 6))}x too large everywhere"
                    : $"{key}: divided by {Tensor.FormatNumber(Math.Round(1 / r, 6))} everywhere (a batch size or count: a mean baked into a layer whose loss is a sum?)");
        }
        if (!outputOk && x.Shape.Rank > 2 && Safe(() => op.Forward(inputs.With("input", Variants.ReadAsChannelsLast(x)))) is { } channelsLast
            && Variants.Same(Variants.WriteAsChannelsLast(channelsLast), ev.Actual, ev.Dtype))
            found.Add("output: the input was read as channels-last (N, *spatial, C) and the output written channels-last: the data must be channels-first (N, C, *spatial)");
        if (op is IHasInvariants inv && ev.ActualGrads is not null)
        {
            try
            {
                var report = inv.CheckInvariants(inputs, dy, ev.ActualGrads);
                found.AddRange(report.Violations.Select(v => $"invariant broken: {v}"));
            }
            catch (ParameterException) { }
        }
        return found;
    }

    private static Tensor? Safe(Func<Tensor> f)
    {
        try { return f(); }
        catch (ParameterException) { return null; }
    }

    /// <summary>A constant actual/expected ratio over the nonzero elements, if there is one.</summary>
    private static double? Ratio(Tensor expected, Tensor actual)
    {
        double? r = null;
        for (int i = 0; i < expected.Count; i++)
        {
            double e = expected.At(i), a = actual.At(i);
            if (!double.IsFinite(e) || !double.IsFinite(a)) return null;
            if (Math.Abs(e) < 1e-12) { if (Math.Abs(a) > 1e-9) return null; continue; }
            double q = a / e;
            if (r is null) r = q;
            else if (Math.Abs(q - r.Value) > 1e-4 * Math.Abs(r.Value)) return null;
        }
        return r is > 0 ? r : null;
    }

    private static IEnumerable<Hypothesis> Hypotheses(IOp op, NamedTensors inputs, Tensor dy, Evaluation ev)
    {
        var x = inputs["input"];
        switch (op)
        {
            case AvgPool a:
            {
                var g = a.Windows.For(x.Shape);
                var divisors = Enumerable.Range(0, g.OutputPlaneSize).Select(o => a.Divisor(g, o)).ToList();
                var typical = divisors.GroupBy(d => d).OrderByDescending(d => d.Count()).First().Key;
                if (a.Attrs.Contains("kernel_size"))
                {
                    yield return new("mean-pool gradient copied to every window cell instead of divided by the divisor: " +
                        $"{Tensor.FormatNumber(typical)}x too large (the window holds {Tensor.FormatNumber(typical)} cells)", "grads.input",
                        () => Variants.With(a, inputs, "divisor_override", 1)?.Backward(inputs, dy)["input"]);
                    yield return new($"divisor {(a.CountIncludePad ? "excludes" : "counts")} the padding: count_include_pad={(!a.CountIncludePad ? "True" : "False")} semantics where {(a.CountIncludePad ? "True" : "False")} was asked", "output",
                        () => Variants.With(a, inputs, "count_include_pad", !a.CountIncludePad)?.Forward(inputs));
                }
                else
                    yield return new("mean-pool gradient copied to every window cell instead of divided", "grads.input",
                        () => Variants.Scale(a.Backward(inputs, dy)["input"], typical));
                yield return new("overlapping windows overwrite each other's gradient instead of accumulating", "grads.input", () => Variants.AvgPoolOverwrite(a, x, dy));
                break;
            }
            case MaxPool m:
                foreach (var t in Enum.GetValues<TiePolicy>().Where(t => t != m.TiePolicy))
                    yield return new($"max-pool gradient sent to the {Describe(t)} of tied maxima, not the {Describe(m.TiePolicy)} (tie_policy={t.ToString().ToLowerInvariant()} where {m.TiePolicy.ToString().ToLowerInvariant()} was declared)", "grads.input",
                        () => Variants.WithRules(m, t, m.NanRule).Backward(inputs, dy)["input"]);
                yield return new("overlapping windows overwrite each other's gradient instead of accumulating", "grads.input", () => Variants.MaxPoolOverwrite(m, x, dy));
                break;
            case Convolution c:
                yield return new("convolution input gradient computed with the kernel not rotated by 180 degrees", "grads.input", () => Variants.ConvolutionUnrotated(c, inputs, dy));
                yield return new($"weight gradient divided by the batch size {x.Shape[0]} (a mean-loss convention baked into the layer)", "grads.weight",
                    () => x.Shape[0] > 1 ? Variants.Scale(c.Backward(inputs, dy)["weight"], 1.0 / x.Shape[0]) : null);
                if (c.HasBias)
                {
                    yield return new("bias gradient misses the sum over the batch (first sample only)", "grads.bias",
                        () => x.Shape[0] > 1 ? Variants.FirstSampleOnly(c, inputs, dy)["bias"] : null);
                    yield return new($"bias gradient divided by the batch size {x.Shape[0]}", "grads.bias",
                        () => x.Shape[0] > 1 ? Variants.Scale(c.Backward(inputs, dy)["bias"], 1.0 / x.Shape[0]) : null);
                }
                break;
            case Linear l:
            {
                int rows = x.Count / Math.Max(1, x.Shape[x.Shape.Rank - 1]);
                yield return new($"weight gradient divided by the batch size {rows}", "grads.weight",
                    () => rows > 1 ? Variants.Scale(l.Backward(inputs, dy)["weight"], 1.0 / rows) : null);
                break;
            }
            case BatchNorm { Training: true } bn:
                yield return new("batch-norm backward without its mean terms (-Σdx̂/M and -x̂·Σ(dx̂·x̂)/M): the batch statistics treated as constants", "grads.input",
                    () => Variants.BatchNormWithoutMeanTerms(bn, inputs, dy));
                break;
            case Softmax s:
                yield return new($"{s.Name} backward uses only the Jacobian's diagonal (misses the -y_i·y_j terms)", "grads.input", () => Variants.SoftmaxDiagonal(s, inputs, dy));
                break;
        }
        // Off-by-one in stride or padding, for anything with windows.
        if (op.Attrs.Contains("stride") && op.Attrs.Contains("kernel_size") || op is Convolution)
            foreach (var (key, delta) in new[] { ("padding", 1), ("padding", -1), ("stride", 1), ("stride", -1) })
            {
                if (!op.Attrs.Contains(key) || op.Attrs[key] is not int[] v) continue;
                var changed = v.Select(e => e + delta).ToArray();
                if (changed.Any(e => e < (key == "stride" ? 1 : 0))) continue;
                yield return new($"off-by-one in {key}: the output matches {key}={OpAttributes.Format(changed)}, not {OpAttributes.Format(v)}", "output",
                    () => Variants.With(op, inputs, key, changed)?.Forward(inputs));
            }
    }

    private static string Describe(TiePolicy t) => t switch
    {
        TiePolicy.First => "first",
        TiePolicy.Last => "last",
        TiePolicy.Split => "all (in equal shares)",
        _ => "all (each the full gradient)",
    };
}
