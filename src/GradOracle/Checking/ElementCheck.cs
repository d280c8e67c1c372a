using System.Collections.Immutable;
using System.Globalization;
using GradOracle.Tensors;

namespace GradOracle.Checking;

/// <summary>
/// One element of one input's gradient: the analytic value against the finite-difference estimate, with
/// an error estimate, and at a kink the one-sided slopes, the interval of acceptable values they imply
/// (<see cref="Lower"/> to <see cref="Upper"/>, summed over the outputs the element reaches) and, if
/// declared, the declared rule's value.
/// </summary>
public sealed record ElementCheck(
    string Tensor,
    int Index,
    Shape Shape,
    double Analytic,
    double Numeric,
    double ErrorEstimate,
    double Allowed,
    bool IsKink,
    double LeftSlope,
    double RightSlope,
    double Lower,
    double Upper,
    double? Declared,
    ElementVerdict Verdict,
    string? Note)
{
    /// <summary>The element's coordinates in its tensor (computed on demand: a check holds one record per element).</summary>
    public ImmutableArray<int> Coordinates => [.. Shape.Coordinates(Index)];

    /// <summary>|analytic - numeric|.</summary>
    public double AbsoluteError => Math.Abs(Analytic - Numeric);

    /// <summary>|analytic - numeric| / |numeric| (infinite when numeric is 0 and analytic is not).</summary>
    public double RelativeError => AbsoluteError == 0 ? 0 : AbsoluteError / Math.Abs(Numeric);

    /// <summary>Whether the element passed (skipped elements do not fail).</summary>
    public bool Passed => Verdict != ElementVerdict.Fail;

    /// <summary>How far outside its allowance the element is (above 1 fails): sorts the worst first.</summary>
    public double Badness
    {
        get
        {
            if (Verdict == ElementVerdict.Skipped) return -1;
            double off = IsKink
                ? Math.Max(Math.Max(Lower - Analytic, Analytic - Upper),
                           Declared is { } d ? Math.Abs(Analytic - d) : 0)
                : AbsoluteError;
            return off / Allowed + (Verdict == ElementVerdict.Fail ? 1e6 : 0);
        }
    }

    /// <summary>Where, as text: input[0, 1, 2, 3].</summary>
    public string Where => $"{Tensor}[{string.Join(", ", Coordinates)}]";

    /// <summary>One line in the style of gradcheck's failure text.</summary>
    public override string ToString()
    {
        var s = $"{Where}: analytic {Show(Analytic)}, numeric {Show(Numeric)} (abs err {Show(AbsoluteError)}, rel err {Show(RelativeError)}, error estimate {Show(ErrorEstimate)}, allowed {Show(Allowed)})";
        if (IsKink)
        {
            s = $"{Where}: kink, analytic {Show(Analytic)}, one-sided slopes {Show(LeftSlope)} (left) and {Show(RightSlope)} (right), acceptable [{Show(Lower)}, {Show(Upper)}]";
            if (Declared is { } d) s += $", declared policy gives {Show(d)}";
        }
        return Note is null ? s : $"{s}; {Note}";
    }

    internal static string Show(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}
