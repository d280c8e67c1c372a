using System.Collections.Immutable;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>
/// One case's verdict on its answer: every tensor present with the expected shape and, element by element,
/// within its allowance of the case's rule; where it differs and the op's gradient is a set there, inside the
/// set (a named convention, passed) or not (failed, and why).
/// </summary>
internal static class Comparison
{
    public static void Judge(WorkItem item, Evaluation ev)
    {
        var rules = ev.Rules!;
        var expected = ev.Expected!;
        var actual = ev.Actual!;
        var compare = ev.Comparer = new AnswerComparer(ev.Dtype, DtypeTolerance.Allowances(rules.Rule, ev.Inputs, ev.GradOutput, expected, ev.Dtype));
        bool shapes = true;
        if (expected.Extras is { } extras && actual.Extras is null)
            ev.Notes.Add($"{string.Join(" and ", extras.Names)} not in the reply (\"extras\"): not checked");
        foreach (var key in expected.Keys.Where(k => !OpResult.IsExtra(k) || actual.Extras is not null))
        {
            var e = expected[key]!;
            var a = actual[key];
            if (a is null) { ev.Diffs.Add(new TensorDiff(key, e.Count, e.Count, [], $"{key}: missing from the response")); shapes = false; continue; }
            ev.Tensors[key] = new ExpectedAndActual(e, a);
            if (a.Shape != e.Shape) { ev.Diffs.Add(new TensorDiff(key, e.Count, e.Count, [], ShapeProblem(item, ev, key, e, a))); shapes = false; continue; }
            // Streamed into a map of where and the worst five: memory by the tensor's dimensions, not by its differing elements.
            var map = new DiffMap(e.Shape, keep: 5);
            foreach (int i in compare.Differing(key, e, a))
                map.Add(i, double.IsNaN(e.At(i)) != double.IsNaN(a.At(i)) ? double.PositiveInfinity : Math.Abs(a.At(i) - e.At(i)));
            if (map.Count == 0) continue;
            var worst = map.Worst().Select(i => Context.Describe(item, ev, key, i, e.At(i), a.At(i))).ToImmutableArray();
            ev.Diffs.Add(new TensorDiff(key, map.Count, e.Count, worst, null) { Where = map.Slice(key) });
        }
        if (ev.Diffs.Count == 0)
        {
            ev.Status = CaseStatus.Pass;
            ev.Summary = "matches";
            return;
        }
        if (shapes && rules.Rule is IHasConventions h)
        {
            var j = h.Judge(ev.Inputs, ev.GradOutput, actual, compare, rules.Required);
            ev.Conventions.AddRange(j.Conventions);
            // A rule outside the set that this case's own attribute asks for: the implementation may honour the attributes undeclared.
            foreach (var c in j.Conventions.Where(c => !c.Valid && item.Attributes.Contains(c.Situation) && Equals(item.Attributes[c.Situation], c.Choice)))
                ev.Notes.Add($"this case's {c.Situation} attribute asks for {c.Choice}: an implementation that follows the attribute declares \"{c.Situation}\": \"attribute\" in its hello, and is then judged by it");
            if (j.Allowed)
            {
                ev.Diffs.Clear();
                ev.Status = CaseStatus.Pass;
                ev.Summary = j.Conventions.IsEmpty ? "matches (within the set of valid gradients)" : "a valid gradient: " + string.Join("; ", j.Conventions.Select(c => c.Text));
                return;
            }
            if (j.Problem is { } problem)
            {
                ev.Status = CaseStatus.Fail;
                ev.Explained = true;
                ev.Summary = problem + (j.Breaks is { } b && rules.Why.TryGetValue(b, out var why) ? $" ({why})" : "");
                return;
            }
        }
        ev.Status = CaseStatus.Fail;
        ev.Summary = string.Join("; ", ev.Diffs.Select(d => d.Problem ?? $"{d.Tensor}: {d.Count} of {d.Total} differ"));
    }

    /// <summary>A tensor of the wrong shape, said with both shapes and, for the output, PyTorch's rule filled in with the case's attributes.</summary>
    private static string ShapeProblem(WorkItem item, Evaluation ev, string key, Tensor expected, Tensor actual)
    {
        if (key == "output")
        {
            var rule = item.Oracle is IExplainsOutputShape s ? s.OutputShapeRule(ev.Inputs) : "the input's shape";
            return $"output has shape {actual.Shape}, expected {expected.Shape}: PyTorch's output shape is {rule}";
        }
        // A gradient is measured against its input; an extra output (a running statistic) against the expected one.
        var text = OpResult.IsExtra(key) ? $"{key} has shape {actual.Shape}, expected {expected.Shape}"
            : $"{key} has shape {actual.Shape}; the input {key["grads.".Length..]} has {ev.Inputs[key["grads.".Length..]].Shape}";
        if (actual.Count == expected.Count && Squeezed(actual.Shape).SequenceEqual(Squeezed(expected.Shape))
            && ev.Comparer!.Same(key, expected, Tensor.FromArray(expected.Shape, actual.ToArray())))
            return text + ": its values are right, with dimensions of size 1 added or dropped (as a sum with keepdims=True leaves them)";
        var pad = item.Oracle.Attributes.Contains("padding") ? item.Oracle.Attributes["padding"] switch { int[] p => p, "valid" => [0], _ => null } : null;
        if (actual.Count == 0 && expected.Count > 0 && pad is not null && actual.Shape.Rank == expected.Shape.Rank
            && Enumerable.Range(2, actual.Shape.Rank - 2).Any(d => actual.Shape[d] == 0 && pad[Math.Min(d - 2, pad.Length - 1)] == 0))
            return text + ": it is empty along a dimension whose padding is 0 (a slice such as dx[:, :, pad:-pad] is empty when pad = 0)";
        return text;
    }

    private static IEnumerable<int> Squeezed(Shape s) => s.Slice(0).Where(d => d != 1);
}
