using System.Collections.Concurrent;
using GradOracle.Tensors;

namespace GradOracle.Checking;

/// <summary>
/// The element checks of one input, stored by column: a full check holds a result for every element, so an
/// ordinary element keeps two numbers and a verdict, 17 bytes (its analytic value is read back from the
/// gradient, its allowance recomputed, and only an op with kinks keeps the interval of its outputs' slopes),
/// while kinks, skips and elements with a note keep their whole record. Records are rebuilt on demand, equal
/// to what the checker produced except that an ordinary element's one-sided slopes are not kept.
/// </summary>
internal sealed class ElementColumns
{
    private readonly string name;
    private readonly Shape shape;
    private readonly Tensor analytic;
    private readonly Tensor? declared;
    private readonly int[]? indices; // null: every element, in order
    private readonly Func<double, double, double, double> allowance;
    private readonly double[] numeric, estimate;
    private readonly double[]? interval; // null: the interval is the numeric value (an op without kinks)
    private readonly byte[] verdict;
    private readonly ConcurrentDictionary<int, ElementCheck> whole = new(); // kinks, skips, notes, the unusual

    /// <param name="name">The input's name.</param>
    /// <param name="shape">The input's shape.</param>
    /// <param name="analytic">The analytic gradient.</param>
    /// <param name="declared">The declared rule's gradient, if any.</param>
    /// <param name="indices">The elements checked, in order (null: all).</param>
    /// <param name="allowance">An ordinary element's allowance from its analytic value, numeric value and error estimate.</param>
    /// <param name="intervals">Whether to keep each element's interval apart from its numeric value.</param>
    public ElementColumns(string name, Shape shape, Tensor analytic, Tensor? declared, int[]? indices,
        Func<double, double, double, double> allowance, bool intervals)
    {
        (this.name, this.shape, this.analytic, this.declared, this.indices, this.allowance) = (name, shape, analytic, declared, indices, allowance);
        Count = indices?.Length ?? shape.Count;
        numeric = new double[Count];
        estimate = new double[Count];
        interval = intervals ? new double[Count] : null;
        verdict = new byte[Count];
    }

    public int Count { get; }

    private int IndexAt(int k) => indices is null ? k : indices[k];

    /// <summary>Stores the check of the element at position <paramref name="k"/> (thread-safe across positions).</summary>
    public void Store(int k, ElementCheck c)
    {
        verdict[k] = (byte)c.Verdict;
        int i = IndexAt(k);
        bool ordinary = !c.IsKink && c.Note is null && c.Verdict is ElementVerdict.Pass or ElementVerdict.Fail && c.Lower.Equals(c.Upper)
            && (interval is not null || c.Lower.Equals(c.Numeric))
            && c.Analytic.Equals(analytic.At(i)) && Nullable.Equals(c.Declared, declared?.At(i))
            && c.Allowed.Equals(allowance(c.Analytic, c.Numeric, c.ErrorEstimate));
        if (!ordinary) { whole[k] = c; return; }
        numeric[k] = c.Numeric;
        estimate[k] = c.ErrorEstimate;
        if (interval is not null) interval[k] = c.Lower;
    }

    public ElementVerdict Verdict(int k) => (ElementVerdict)verdict[k];

    public bool IsKink(int k) => whole.TryGetValue(k, out var c) && c.IsKink;

    /// <summary>|analytic - numeric| of an element, without rebuilding its record.</summary>
    public double AbsoluteError(int k) => whole.TryGetValue(k, out var c) ? c.AbsoluteError : Math.Abs(analytic.At(IndexAt(k)) - numeric[k]);

    /// <summary>The record of the element at position <paramref name="k"/>.</summary>
    public ElementCheck this[int k]
    {
        get
        {
            if (whole.TryGetValue(k, out var c)) return c;
            int i = IndexAt(k);
            double a = analytic.At(i), n = numeric[k], slopes = interval?[k] ?? n;
            return new ElementCheck(name, i, shape, a, n, estimate[k], allowance(a, n, estimate[k]),
                false, double.NaN, double.NaN, slopes, slopes, declared?.At(i), (ElementVerdict)verdict[k], null);
        }
    }

    public IEnumerable<ElementCheck> All()
    {
        for (int k = 0; k < Count; k++) yield return this[k];
    }
}
