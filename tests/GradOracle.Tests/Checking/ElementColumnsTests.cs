using GradOracle.Checking;
using GradOracle.Tensors;

namespace GradOracle.Tests.Checking;

public class ElementColumnsTests
{
    private static readonly Shape Shape = Shape.Of(2, 3);
    private static readonly Tensor Analytic = Tensor.Create(Shape, i => 0.25 * i - 0.5);

    private static double Allowance(double analytic, double numeric, double estimate) => 1e-8 + 1e-6 * Math.Max(Math.Abs(analytic), Math.Abs(numeric)) + 2 * estimate;

    private static ElementCheck Ordinary(int i, double numeric, double estimate, ElementVerdict verdict, double? interval = null) =>
        new("input", i, Shape, Analytic.At(i), numeric, estimate, Allowance(Analytic.At(i), numeric, estimate), false,
            0.1 * i, 0.2 * i, interval ?? numeric, interval ?? numeric, null, verdict, null);

    private static ElementCheck WithoutSlopes(ElementCheck c) => c with { LeftSlope = double.NaN, RightSlope = double.NaN };

    [TestCase(false)]
    [TestCase(true)]
    public void An_ordinary_element_reads_back_as_stored_but_for_its_one_sided_slopes(bool intervals)
    {
        var columns = new ElementColumns("input", Shape, Analytic, null, null, Allowance, intervals);
        var stored = new[]
        {
            Ordinary(0, -0.5 + 1e-12, 3e-13, ElementVerdict.Pass),
            Ordinary(1, 1.0, 1e-11, ElementVerdict.Fail),
            Ordinary(2, -0.0, 0, ElementVerdict.Pass),
            Ordinary(3, 0.25, 1e-12, ElementVerdict.Pass, interval: 0.25 + 1e-15), // slope interval apart from the numeric value
        };
        for (int k = 0; k < stored.Length; k++) columns.Store(k, stored[k]);
        Assert.That(Enumerable.Range(0, 3).Select(k => columns[k]), Is.EqualTo(stored.Take(3).Select(WithoutSlopes)));
        // Kept as an interval where the op has kinks; whole (slopes too) where it has none.
        Assert.That(columns[3], Is.EqualTo(intervals ? WithoutSlopes(stored[3]) : stored[3]));
        Assert.That(columns.Verdict(1), Is.EqualTo(ElementVerdict.Fail));
        Assert.That(columns.AbsoluteError(1), Is.EqualTo(1.25)); // analytic 0.25·1 - 0.5 = -0.25 against numeric 1
    }

    [Test]
    public void Kinks_skips_notes_and_unusual_allowances_read_back_whole()
    {
        var columns = new ElementColumns("input", Shape, Analytic, null, null, Allowance, intervals: true);
        var stored = new[]
        {
            new ElementCheck("input", 0, Shape, -0.5, -0.4, 1e-10, 1e-8, true, -1, 0.2, -1, 0.2, null, ElementVerdict.KinkPass, null),
            new ElementCheck("input", 1, Shape, -0.25, double.NaN, double.NaN, double.NaN, false, double.NaN, double.NaN, double.NaN, double.NaN, null,
                ElementVerdict.Skipped, "input is NaN"),
            Ordinary(2, 0, 0, ElementVerdict.Pass) with { Note = "near-kink" },
            Ordinary(3, 0.25, 1e-12, ElementVerdict.Pass) with { Allowed = 1 },
            Ordinary(4, 0.5, 1e-12, ElementVerdict.Pass) with { Analytic = 7 }, // not the gradient tensor's value
        };
        for (int k = 0; k < stored.Length; k++) columns.Store(k, stored[k]);
        Assert.That(Enumerable.Range(0, stored.Length).Select(k => columns[k]), Is.EqualTo(stored));
        Assert.That(columns.IsKink(0), Is.True);
        Assert.That(columns.IsKink(2), Is.False);
    }

    [Test]
    public void A_selection_of_elements_is_stored_by_position_and_read_back_with_its_indices()
    {
        var columns = new ElementColumns("input", Shape, Analytic, null, [1, 4], Allowance, intervals: false);
        columns.Store(0, Ordinary(1, -0.25, 0, ElementVerdict.Pass));
        columns.Store(1, Ordinary(4, 0.5, 0, ElementVerdict.Pass));
        Assert.That(columns.Count, Is.EqualTo(2));
        Assert.That(columns.All().Select(c => (c.Index, c.Analytic)), Is.EqualTo(new[] { (1, -0.25), (4, 0.5) }));
    }
}
