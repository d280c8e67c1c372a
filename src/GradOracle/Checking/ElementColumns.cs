using System.Collections.Immutable;
using GradOracle.Tensors;

namespace GradOracle.Checking;

/// <summary>
/// The element checks of one input, stored by column: a full check holds a result for every element, so an
/// ordinary smooth element keeps four numbers and a verdict (its analytic value is read back from the
/// gradient), while kinks, skips and elements with a note keep their whole record. Records are rebuilt on
/// demand, equal to what the checker produced except that a smooth element's one-sided slopes are not kept.
/// </summary>
internal sealed class ElementColumns
{
    private readonly string name;
    private readonly Shape shape;
    private readonly Tensor analytic;
    private readonly Tensor? declared;
    private readonly int[] indices;
    private readonly double[] numeric, estimate, allowed, interval;
    private readonly ElementVerdict[] verdict;
    private readonly ElementCheck?[] whole; // kinks, skips, notes; null for compact elements

    public ElementColumns(string name, Shape shape, Tensor analytic, Tensor? declared, int[] indices)
    {
        (this.name, this.shape, this.analytic, this.declared, this.indices) = (name, shape, analytic, declared, indices);
        numeric = new double[indices.Length];
        estimate = new double[indices.Length];
        allowed = new double[indices.Length];
        interval = new double[indices.Length];
        verdict = new ElementVerdict[indices.Length];
        whole = new ElementCheck?[indices.Length];
    }

    public int Count => indices.Length;

    /// <summary>Stores the check of the element at position <paramref name="k"/> (thread-safe across positions).</summary>
    public void Store(int k, ElementCheck c)
    {
        verdict[k] = c.Verdict;
        bool compact = !c.IsKink && c.Note is null && c.Verdict is ElementVerdict.Pass or ElementVerdict.Fail && c.Lower.Equals(c.Upper)
            && c.Analytic.Equals(analytic.At(indices[k])) && Nullable.Equals(c.Declared, declared?.At(indices[k]));
        if (!compact) { whole[k] = c; return; }
        numeric[k] = c.Numeric;
        estimate[k] = c.ErrorEstimate;
        allowed[k] = c.Allowed;
        interval[k] = c.Lower;
    }

    public ElementVerdict Verdict(int k) => verdict[k];

    public bool IsKink(int k) => whole[k]?.IsKink ?? false;

    /// <summary>|analytic - numeric| of a smooth element, without rebuilding its record.</summary>
    public double AbsoluteError(int k) => whole[k]?.AbsoluteError ?? Math.Abs(analytic.At(indices[k]) - numeric[k]);

    /// <summary>The record of the element at position <paramref name="k"/>.</summary>
    public ElementCheck this[int k] => whole[k] ?? new ElementCheck(name, indices[k], shape, analytic.At(indices[k]), numeric[k], estimate[k], allowed[k],
        false, double.NaN, double.NaN, interval[k], interval[k], declared?.At(indices[k]), verdict[k], null);

    public IEnumerable<ElementCheck> All()
    {
        for (int k = 0; k < Count; k++) yield return this[k];
    }
}
