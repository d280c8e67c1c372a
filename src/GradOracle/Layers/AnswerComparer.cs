using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// The one rule by which an implementation's values are held to expected ones: both rounded to the
/// implementation's dtype, NaN only against NaN, infinities exactly, finite values within each element's
/// allowance (exactly where there is none). Verify's comparison and the valid-set judgements share it.
/// </summary>
public sealed class AnswerComparer
{
    private readonly IReadOnlyDictionary<string, double[]?> allowances;

    /// <summary>A comparer for <paramref name="dtype"/> with per-element allowances by report key ("output", "grads.input"; null: exact).</summary>
    public AnswerComparer(string dtype, IReadOnlyDictionary<string, double[]?> allowances)
    {
        DtypeTolerance.UnitRoundoff(dtype); // validates the name
        Dtype = dtype;
        this.allowances = allowances;
    }

    /// <summary>The implementation's dtype.</summary>
    public string Dtype { get; }

    /// <summary>Element <paramref name="index"/>'s allowance under <paramref name="key"/> (0 where values must be equal).</summary>
    public double Allowance(string key, int index) => allowances.TryGetValue(key, out var a) && a is not null ? a[index] : 0;

    /// <summary>Whether <paramref name="actual"/> agrees with <paramref name="expected"/> at one element of <paramref name="key"/>.</summary>
    public bool Agrees(string key, int index, double expected, double actual)
    {
        double e = DtypeTolerance.Round(expected, Dtype), a = DtypeTolerance.Round(actual, Dtype);
        if (double.IsNaN(e) || double.IsNaN(a)) return double.IsNaN(e) && double.IsNaN(a);
        if (double.IsInfinity(e) || double.IsInfinity(a)) return e == a;
        return Math.Abs(a - e) <= Allowance(key, index);
    }

    /// <summary>The elements where two tensors of one shape disagree.</summary>
    public IEnumerable<int> Differing(string key, Tensor expected, Tensor actual)
    {
        for (int i = 0; i < expected.Count; i++)
            if (!Agrees(key, i, expected.At(i), actual.At(i))) yield return i;
    }

    /// <summary>Whether two tensors have one shape and agree everywhere.</summary>
    public bool Same(string key, Tensor expected, Tensor? actual) => actual is not null && actual.Shape == expected.Shape && !Differing(key, expected, actual).Any();

    /// <summary>Whether an answer agrees with the expected one in every tensor the expected one has (the extra outputs only when it sent them).</summary>
    public bool Same(OpResult expected, OpResult actual) =>
        expected.Keys.Where(k => !OpResult.IsExtra(k) || actual.Extras is not null).All(k => Same(k, expected[k]!, actual[k]));
}
