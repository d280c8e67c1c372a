using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>
/// Names the likely bug behind a failing case by testing hypotheses: the oracle computes what each known bug
/// would answer for the same inputs (a mean-pool gradient copied, windows overwriting, an off-by-one in stride or
/// padding, an unrotated kernel, a batch-size division, missing mean terms, a diagonal-only softmax, a flipped
/// sign, channels-last data) and a bug is named only when its answer reproduces the implementation's, every
/// tensor of it, and differs from the right one (so that the case could tell them apart). A bug of one tensor
/// leaves the others right; bugs of several tensors are named together when between them they reproduce the
/// whole answer. When none does, it says so.
/// </summary>
public static class Diagnosis
{
    /// <summary>A bug that changes the whole answer (a wrong attribute: every tensor follows it).</summary>
    private sealed record Whole(string Message, Func<OpResult?> Predict);

    /// <summary>A bug confined to one tensor.</summary>
    private sealed record InTensor(string Tensor, string Message, Func<Tensor?> Predict)
    {
        /// <summary>A pattern of any tensor (a sign, a factor), named only where no specific bug is.</summary>
        public bool Generic { get; init; }
    }

    /// <summary>What no hypothesis explains.</summary>
    public const string Unexplained = "no known bug reproduces this answer";

    /// <summary>The start of a diagnosis that states a fact about shapes rather than a bug.</summary>
    public const string ShapeFact = "shape: ";

    /// <summary>The start of a diagnosis that reports a broken invariant (within float64's allowances) rather than a bug.</summary>
    public const string InvariantBroken = "invariant broken: ";

    /// <summary>Whether a diagnosis names a known bug that reproduces the answer (not only shape facts, invariants or <see cref="Unexplained"/>).</summary>
    internal static bool NamesABug(IEnumerable<string> found) =>
        found.Any(d => d != Unexplained && !d.StartsWith(ShapeFact, StringComparison.Ordinal) && !d.StartsWith(InvariantBroken, StringComparison.Ordinal));

    internal static List<string> Explain(WorkItem item, Evaluation ev)
    {
        var found = new List<string>();
        if (ev.Actual is null || ev.Expected is null) return found;
        var op = ev.Rules?.Rule ?? item.Oracle; // the op the case was judged by: its conventions, not the attributes' where they differ
        var expected = ev.Expected;
        var actual = ev.Actual;
        // The tensors the verdict found different; one of the wrong shape is explained (or not) by its own difference, which names both shapes.
        var differing = expected.Keys.Where(k => ev.Diffs.Any(d => d.Tensor == k) && actual[k] is { } t && t.Shape == expected[k]!.Shape).ToList();
        bool misshapen = expected.Keys.Any(k => actual[k] is { } t && t.Shape != expected[k]!.Shape);
        found.AddRange(OutputShapes(op, ev));
        if (differing.Count == 0) return found;

        var bugs = Safe(() => op.Descriptor.Bugs(op, ev.Inputs, ev.GradOutput).ToList()) ?? [];
        foreach (var h in WholeAnswer(op, ev, bugs))
            if (Safe(h.Predict) is { } predicted && !Matches(predicted, expected, "float64") && Matches(predicted, actual, ev.Dtype))
                found.Add(h.Message);
        if (found.Count > 0) return found;

        // Bugs of single tensors: each must reproduce its tensor and tell it apart from the right one.
        var byTensor = new Dictionary<string, List<string>>();
        var named = new List<(string Tensor, Tensor Predicted)>();
        var specific = bugs.Where(b => b.PredictTensor is not null).Select(b => new InTensor(b.Tensor!, b.Message, b.PredictTensor!));
        foreach (var h in specific.Concat(ScaleAndSign(differing, expected, actual, ev.Dtype)))
        {
            if (!differing.Contains(h.Tensor)) continue;
            if (Safe(h.Predict) is not { } t || Variants.Same(t, expected[h.Tensor], "float64") || !Variants.Same(t, actual[h.Tensor], ev.Dtype)) continue;
            // Of bugs this case cannot tell apart (the same answer), the first and simplest is named.
            if (named.Any(n => n.Tensor == h.Tensor && Variants.Same(n.Predicted, t, "float64"))) continue;
            if (!byTensor.TryGetValue(h.Tensor, out var list)) byTensor[h.Tensor] = list = [];
            if (list.Count > 0 && h.Generic) continue;
            list.Add($"{h.Tensor}: {h.Message}");
            named.Add((h.Tensor, t));
        }
        var unexplained = differing.Where(k => !byTensor.ContainsKey(k)).ToList();
        foreach (var (key, messages) in byTensor)
            found.AddRange(unexplained.Count == 0 ? messages
                : messages.Select(m => $"{m} (this reproduces {key} only; {string.Join(", ", unexplained)} differ{(unexplained.Count == 1 ? "s" : "")} for another reason)"));

        // The invariants' allowances are float64's: for an implementation in another dtype they would not be true statements.
        if (op is IHasInvariants inv && op is not IHasConventions { Situations.Count: > 0 } && ev.Dtype == "float64" && shapesMatch(actual, expected))
        {
            try { found.AddRange(inv.CheckInvariants(ev.Inputs, ev.GradOutput, actual.Grads).Violations.Select(v => InvariantBroken + v)); }
            catch (ParameterException) { }
        }
        if (!ev.Explained && !misshapen && (found.Count == 0 || unexplained.Count > 0 && byTensor.Count == 0)) found.Insert(0, Unexplained);
        return found;

        static bool shapesMatch(OpResult a, OpResult e) => e.Keys.All(k => a[k] is { } t && t.Shape == e[k]!.Shape);
    }

    private static bool Matches(OpResult predicted, OpResult answer, string dtype) =>
        predicted.Keys.All(k => answer[k] is { } t && Variants.Same(predicted[k], t, dtype));

    private static T? Safe<T>(Func<T?> f) where T : class
    {
        try { return f(); }
        catch (ParameterException) { return null; }
    }

    /// <summary>Hypotheses that change every tensor: the op's own (its descriptor's), another attribute, data read channels-last.</summary>
    private static IEnumerable<Whole> WholeAnswer(IOp op, Evaluation ev, IReadOnlyList<BugHypothesis> bugs)
    {
        var inputs = ev.Inputs;
        var dy = ev.GradOutput;
        var x = inputs["input"];
        foreach (var b in bugs)
            if (b.PredictWhole is { } predict) yield return new(b.Message, predict);
        // Off-by-one in stride or padding, for anything with strided windows.
        if (op.Attributes.Contains("stride"))
            foreach (var (key, delta) in new[] { ("padding", 1), ("padding", -1), ("stride", 1), ("stride", -1) })
            {
                if (!op.Attributes.Contains(key) || op.Attributes[key] is not int[] v) continue;
                var changed = v.Select(e => e + delta).ToArray();
                if (changed.Any(e => e < (key == "stride" ? 1 : 0))) continue;
                yield return new($"output: off-by-one in {key}: the output and gradients match {key}={OpAttributes.Format(changed)}, not {OpAttributes.Format(v)}",
                    () => OpFactory.TryWith(op, inputs.Names, (key, changed)) is { } w && w.Forward(inputs) is var y && y.Shape == dy.Shape ? new OpResult(y, w.Backward(inputs, dy)) : null);
            }
        if (x.Shape.Rank > 2 && inputs.Names.Count() == 1 && op.DifferentiableInputs.Count == 1)
            yield return new("output: the input was read as channels-last (N, *spatial, C) and the output written channels-last: the data must be channels-first (N, C, *spatial)", () =>
            {
                var read = inputs.With("input", Variants.ReadAsChannelsLast(x));
                return new OpResult(Variants.WriteAsChannelsLast(op.Forward(read)),
                    NamedTensors.Input(Variants.WriteAsChannelsLast(op.Backward(read, Variants.ReadAsChannelsLast(dy))["input"])));
            });
    }

    /// <summary>
    /// For an output of the wrong shape: the attribute changes (one at a time, output_padding left out, and the size
    /// formula without padding, dilation and ceil mode) under which PyTorch's rule gives the shape the implementation returned. A fact about
    /// shapes, said as such.
    /// </summary>
    private static IEnumerable<string> OutputShapes(IOp op, Evaluation ev)
    {
        var got = ev.Actual!.Output.Shape;
        if (got == ev.Expected!.Output.Shape) yield break;
        var changes = new List<(string Key, object Value)[]>();
        foreach (var key in new[] { "padding", "stride", "dilation" })
            if (op.Attributes.Contains(key) && op.Attributes[key] is int[] v)
                foreach (var delta in new[] { -1, 1 })
                    changes.Add([(key, v.Select(e => e + delta).ToArray())]);
        if (op.Attributes.Contains("ceil_mode") && op.Attributes["ceil_mode"] is bool ceil) changes.Add([("ceil_mode", !ceil)]);
        if (op.Attributes.Contains("output_padding") && op.Attributes["output_padding"] is int[] extra && extra.Any(e => e != 0))
            changes.Add([("output_padding", extra.Select(_ => 0).ToArray())]); // output_padding ignored
        var plain = new List<(string Key, object Value)>();
        if (op.Attributes.Contains("padding") && op.Attributes["padding"] is int[] p && p.Any(e => e != 0)) plain.Add(("padding", p.Select(_ => 0).ToArray()));
        if (op.Attributes.Contains("dilation") && op.Attributes["dilation"] is int[] d && d.Any(e => e != 1)) plain.Add(("dilation", d.Select(_ => 1).ToArray()));
        if (op.Attributes.Contains("ceil_mode") && op.Attributes["ceil_mode"] is true) plain.Add(("ceil_mode", false));
        if (plain.Count > 1) changes.Add([.. plain]);
        foreach (var change in changes)
            if (OpFactory.TryWith(op, ev.Inputs.Names, change) is { } variant && Safe(() => variant.Forward(ev.Inputs)) is { } y && y.Shape == got)
                yield return $"{ShapeFact}the output's shape {got} is the one PyTorch's rule gives with {string.Join(", ", change.Select(c => $"{c.Key}={OpAttributes.Format(c.Value)}"))} " +
                             $"(the case has {string.Join(", ", change.Select(c => $"{c.Key}={OpAttributes.Format(op.Attributes[c.Key])}"))})";
    }

    /// <summary>A flipped sign or a constant factor, for any tensor, when no specific bug explains it.</summary>
    private static IEnumerable<InTensor> ScaleAndSign(List<string> differing, OpResult expected, OpResult actual, string dtype)
    {
        foreach (var key in differing)
        {
            if (expected[key] is not { } e || actual[key] is not { } a || a.Shape != e.Shape) continue;
            yield return new(key, "sign flipped (actual = -expected everywhere)", () => e.Scaled(-1)) { Generic = true };
            yield return new(key, "zero everywhere", () => e.Scaled(0)) { Generic = true };
            if (Ratio(e, a) is { } r && Math.Abs(r - 1) > 1e-6)
                yield return new(key, r > 1
                    ? $"{Tensor.FormatNumber(Math.Round(r, 6))}x too large everywhere"
                    : $"divided by {Tensor.FormatNumber(Math.Round(1 / r, 6))} everywhere",
                    () => e.Scaled(r)) { Generic = true };
        }
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
}
