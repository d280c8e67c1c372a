using System.Collections.Immutable;
using System.Text;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Cases;

/// <summary>Actual tensors compared with a case's expected ones, each within its tolerance.</summary>
public sealed class CaseComparison
{
    private CaseComparison(string caseId, ImmutableArray<TensorMismatch> mismatches)
    {
        CaseId = caseId;
        Mismatches = mismatches;
    }

    /// <summary>The case compared.</summary>
    public string CaseId { get; }

    /// <summary>The tensors that do not match.</summary>
    public ImmutableArray<TensorMismatch> Mismatches { get; }

    /// <summary>Every expected tensor matches.</summary>
    public bool Passed => Mismatches.IsEmpty;

    /// <summary>Compares <paramref name="actual"/> (keys "output", "grads.&lt;input&gt;", "indices") with the case.</summary>
    public static CaseComparison Compare(ReferenceCase c, IReadOnlyDictionary<string, Tensor> actual)
    {
        var mismatches = new List<TensorMismatch>();
        foreach (var (key, expected) in c.ExpectedTensors())
        {
            var tol = c.ToleranceOf(key);
            if (!actual.TryGetValue(key, out var got))
            {
                mismatches.Add(new TensorMismatch(key, tol, expected.Count, expected.Count, [], "missing"));
                continue;
            }
            if (got.Shape != expected.Shape)
            {
                mismatches.Add(new TensorMismatch(key, tol, expected.Count, expected.Count, [], $"shape {got.Shape}, expected {expected.Shape}"));
                continue;
            }
            var bad = Enumerable.Range(0, expected.Count).Where(i => !tol.Allows(expected.At(i), got.At(i))).ToList();
            if (bad.Count == 0) continue;
            var worst = bad.OrderByDescending(i => Distance(expected.At(i), got.At(i))).Take(5)
                .Select(i => new ElementMismatch([.. expected.Shape.Coordinates(i)], expected.At(i), got.At(i))).ToImmutableArray();
            mismatches.Add(new TensorMismatch(key, tol, bad.Count, expected.Count, worst, null));
        }
        return new CaseComparison(c.Id, [.. mismatches]);
    }

    private static double Distance(double e, double a) => double.IsNaN(e) != double.IsNaN(a) ? double.PositiveInfinity : Math.Abs(a - e);

    /// <summary>The oracle's current output, gradients and (max pooling) indices for the case's inputs.</summary>
    public static Dictionary<string, Tensor> OracleTensors(ReferenceCase c)
    {
        var op = c.CreateOp();
        var result = new Dictionary<string, Tensor> { ["output"] = op.Forward(c.Inputs) };
        foreach (var (name, g) in op.Backward(c.Inputs, c.GradOutput).Items) result[$"grads.{name}"] = g;
        if (op.Descriptor.Indices(op, c.Inputs) is { } ix)
        {
            result["indices"] = Tensor.FromArray(ix.Shape, ix.Data.Select(v => (double)v).ToArray());
        }
        foreach (var (name, x) in (op as IHasExtraOutputs)?.ExtraOutputs(c.Inputs)?.Items ?? []) result[$"extras.{name}"] = x;
        return result;
    }

    /// <summary>Compares the oracle's current values with the case.</summary>
    public static CaseComparison AgainstOracle(ReferenceCase c) => Compare(c, OracleTensors(c));

    /// <summary>The case with its expected values replaced by <paramref name="actual"/>: what a received file holds.</summary>
    public static ReferenceCase WithExpected(ReferenceCase c, IReadOnlyDictionary<string, Tensor> actual) => c with
    {
        ExpectedOutput = actual["output"],
        ExpectedGrads = new NamedTensors(c.ExpectedGrads.Names.Select(n => (n, actual.TryGetValue($"grads.{n}", out var g) ? g : c.ExpectedGrads[n])).ToArray()),
        ExpectedIndices = c.ExpectedIndices is null ? null : actual.GetValueOrDefault("indices", c.ExpectedIndices),
        ExpectedExtras = c.ExpectedExtras is null ? null
            : new NamedTensors(c.ExpectedExtras.Names.Select(n => (n, actual.TryGetValue($"extras.{n}", out var x) ? x : c.ExpectedExtras[n])).ToArray()),
    };

    /// <summary>Which case, which tensor, how many elements, the worst of them with both values.</summary>
    public string Describe()
    {
        if (Passed) return $"{CaseId}: matches";
        var sb = new StringBuilder($"{CaseId}: {Mismatches.Length} tensor(s) differ from the verified values");
        foreach (var m in Mismatches)
        {
            sb.Append($"\n  {m.Tensor} ({m.Tolerance}): ");
            if (m.Problem is not null) { sb.Append(m.Problem); continue; }
            sb.Append($"{m.Count} of {m.Total} elements outside tolerance; worst: {string.Join("; ", m.Worst)}");
        }
        return sb.ToString();
    }
}
