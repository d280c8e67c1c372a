using System.Collections.Immutable;
using System.Globalization;

namespace GradOracle.Layers;

/// <summary>
/// A kind of point where an op has no derivative and the right gradient is a set (tied maxima, a window with
/// NaN, relu at 0): the key under which an implementation declares what it does there, the choices it may
/// declare, and PyTorch's.
/// </summary>
/// <param name="Key">The declaration key, e.g. <c>tie_policy</c>.</param>
/// <param name="Description">What the situation is, for reports.</param>
/// <param name="PyTorch">PyTorch's choice, one of <paramref name="Choices"/> (or a number in <paramref name="Range"/>).</param>
/// <param name="Choices">The named choices one may declare.</param>
/// <param name="Range">For a numeric choice (relu's slope at 0), the interval a declared number must lie in.</param>
/// <param name="HonoursAttribute">Whether <c>attribute</c> may be declared: the choice is the case's attribute of the same name.</param>
public sealed record Situation(string Key, string Description, string PyTorch, ImmutableArray<string> Choices,
    (double Lo, double Hi)? Range = null, bool HonoursAttribute = false)
{
    /// <summary>The declared value meaning "I follow the attribute each case sends".</summary>
    public const string Attribute = "attribute";

    /// <summary>A declared value in its canonical form (numbers in invariant form), or null with <paramref name="error"/> saying why not.</summary>
    public string? Normalise(string value, out string? error)
    {
        error = null;
        if (Choices.Contains(value) || (HonoursAttribute && value == Attribute)) return value;
        if (Range is { } r && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
        {
            if (v >= r.Lo && v <= r.Hi) return v.ToString("R", CultureInfo.InvariantCulture);
            error = $"must lie in [{r.Lo.ToString(CultureInfo.InvariantCulture)}, {r.Hi.ToString(CultureInfo.InvariantCulture)}]";
            return null;
        }
        var options = Choices.Concat(HonoursAttribute ? [Attribute] : []).Select(c => $"\"{c}\"");
        error = $"must be {(Range is { } rr ? $"a number in [{rr.Lo.ToString(CultureInfo.InvariantCulture)}, {rr.Hi.ToString(CultureInfo.InvariantCulture)}]{(Choices.IsEmpty ? "" : " or ")}" : "")}" +
                (Choices.IsEmpty && !HonoursAttribute ? "" : $"one of {string.Join(", ", options)}");
        return null;
    }
}
