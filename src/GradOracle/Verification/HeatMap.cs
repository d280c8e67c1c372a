using System.Globalization;
using System.Net;
using System.Text;
using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>
/// The HTML report's heat maps: per 2-D slice (the last two axes) of a tensor, one table whose cells are coloured blue
/// for negative, white for zero, red for positive and grey for NaN, each printing its number in black or white,
/// whichever reads better on its colour; a legend above the maps says the number the colour saturates at.
/// </summary>
internal static class HeatMap
{
    /// <summary>Slices drawn per tensor, and rows or columns per slice: a page of readable numbers, not every element.</summary>
    private const int MaxSlices = 4, MaxSide = 32;

    // A diverging scale with dark ends (ColorBrewer's RdBu): a saturated cell is dark enough for white text.
    private static readonly (int R, int G, int B) Negative = (33, 102, 172), Positive = (178, 24, 43), White = (255, 255, 255);
    private const string NaNColor = "#9a9a9a";

    /// <summary>
    /// Expected, actual and difference of tensor <paramref name="name"/> per slice, with the case's input slice first
    /// when <paramref name="input"/> (of the same shape) is given, since ties and NaN in it explain max-pool failures.
    /// </summary>
    public static void Gradient(StringBuilder sb, string name, Tensor expected, Tensor actual, Tensor? input)
    {
        double scale = Math.Max(Layers.Tolerance.MaxAbs(expected), Layers.Tolerance.MaxAbs(actual)), inputScale = input is null ? 0 : Layers.Tolerance.MaxAbs(input);
        Legend(sb, scale, "the largest |value| of expected and actual; the difference uses the same scale, and is full colour beyond it"
            + (input is null ? "" : $"; the input map has its own scale, saturating at {Number(inputScale)}"));
        Slices(sb, expected.Shape, (offset, index) =>
        {
            if (input is not null) Map(sb, $"input{index}", input, offset, inputScale, expected.Shape);
            Map(sb, $"expected {name}{index}", expected, offset, scale, expected.Shape);
            Map(sb, $"actual {name}{index}", actual, offset, scale, expected.Shape);
            Map(sb, $"difference {name}{index}", Tensor.Create(expected.Shape, i => actual.At(i) - expected.At(i)), offset, scale, expected.Shape);
        });
    }

    /// <summary>The input tensor's slices alone, on its own scale: for a case whose differing tensors have other shapes.</summary>
    public static void Input(StringBuilder sb, Tensor input)
    {
        double scale = Layers.Tolerance.MaxAbs(input);
        Legend(sb, scale, "the largest |value| of the input");
        Slices(sb, input.Shape, (offset, index) => Map(sb, $"input{index}", input, offset, scale, input.Shape));
    }

    /// <summary>The cell colour of <paramref name="v"/> on a scale saturating at |<paramref name="scale"/>|.</summary>
    public static (int R, int G, int B)? Background(double v, double scale)
    {
        if (double.IsNaN(v)) return null;
        double t = v == 0 ? 0 : scale > 0 ? Math.Min(Math.Abs(v) / scale, 1) : 1;
        var end = v > 0 ? Positive : Negative;
        static int Mix(int from, int to, double t) => (int)Math.Round(from + (to - from) * t);
        return (Mix(White.R, end.R, t), Mix(White.G, end.G, t), Mix(White.B, end.B, t));
    }

    /// <summary>
    /// "#fff" or "#000", whichever contrasts more with the background (WCAG's relative luminance: white wins below 0.179).
    /// </summary>
    public static string TextColor((int R, int G, int B) c)
    {
        static double Linear(int v) { double s = v / 255.0; return s <= 0.04045 ? s / 12.92 : Math.Pow((s + 0.055) / 1.055, 2.4); }
        double luminance = 0.2126 * Linear(c.R) + 0.7152 * Linear(c.G) + 0.0722 * Linear(c.B);
        return luminance < 0.179 ? "#fff" : "#000";
    }

    /// <summary>A number short enough for a cell: two significant digits, "1.2e-5", "∞", "NaN".</summary>
    public static string Short(double v) => double.IsNaN(v) ? "NaN" : double.IsInfinity(v) ? (v > 0 ? "∞" : "−∞")
        : v.ToString("G2", CultureInfo.InvariantCulture).Replace("E+0", "e").Replace("E-0", "e-").Replace("E+", "e").Replace("E", "e");

    /// <summary>A number for prose: four significant digits.</summary>
    public static string Number(double v) => v.ToString("G4", CultureInfo.InvariantCulture);

    private static void Legend(StringBuilder sb, double scale, string what)
    {
        string Key(double v, string text) { var c = Background(v, scale)!.Value; return $"<span class=\"key\" style=\"{Style(c)}\">{E(text)}</span>"; }
        sb.Append("<p class=\"legend\">")
          .Append(Key(-scale, $"−{Number(scale)}")).Append("<span class=\"bar neg\"></span>").Append(Key(0, "0"))
          .Append("<span class=\"bar pos\"></span>").Append(Key(scale, Number(scale)))
          .Append($" <span class=\"key\" style=\"background:{NaNColor};color:#000\">NaN</span> ")
          .Append("blue negative, white zero, red positive, grey NaN; ")
          .Append(scale > 0 ? $"the colour saturates at |value| = {Number(scale)}, {E(what)}." : "every value is 0 (or not finite).")
          .Append("</p>");
    }

    /// <summary>Calls <paramref name="draw"/> with each slice's flat offset and index text ("[0, 1, :, :]"), in one row of maps per slice.</summary>
    private static void Slices(StringBuilder sb, Shape shape, Action<int, string> draw)
    {
        var (rows, cols) = Sides(shape);
        int size = rows * cols, count = size == 0 ? 0 : shape.Count / size;
        for (int s = 0; s < Math.Min(count, MaxSlices); s++)
        {
            var lead = shape.Coordinates(s * size).Take(Math.Max(0, shape.Rank - 2)).Select(i => i.ToString(CultureInfo.InvariantCulture));
            string index = shape.Rank == 0 ? "" : $"[{string.Join(", ", [.. lead, .. Enumerable.Repeat(":", Math.Min(shape.Rank, 2))])}]";
            sb.Append("<div class=\"maps\">");
            draw(s * size, index);
            sb.Append("</div>");
        }
        if (count > MaxSlices) sb.Append($"<p class=\"note\">showing {MaxSlices} of {count} slices</p>");
    }

    private static (int Rows, int Cols) Sides(Shape shape) =>
        (shape.Rank >= 2 ? shape[shape.Rank - 2] : 1, shape.Rank >= 1 ? shape[shape.Rank - 1] : 1);

    private static void Map(StringBuilder sb, string caption, Tensor t, int offset, double scale, Shape shape)
    {
        var (rows, cols) = Sides(shape);
        string cut = rows > MaxSide || cols > MaxSide ? $" (first {Math.Min(rows, MaxSide)}×{Math.Min(cols, MaxSide)} of {rows}×{cols})" : "";
        // The wrapper scrolls sideways, so a wide map stays inside its box on a narrow screen.
        sb.Append($"<div class=\"map\"><table class=\"heat\"><caption>{E(caption + cut)}</caption>");
        for (int r = 0; r < Math.Min(rows, MaxSide); r++)
        {
            sb.Append("<tr>");
            for (int c = 0; c < Math.Min(cols, MaxSide); c++)
            {
                double v = t.At(offset + r * cols + c);
                string style = Background(v, scale) is { } bg ? Style(bg) : $"background:{NaNColor};color:#000";
                sb.Append($"<td style=\"{style}\" title=\"{E(Tensor.FormatNumber(v))}\">{E(Short(v))}</td>");
            }
            sb.Append("</tr>");
        }
        sb.Append("</table></div>");
    }

    private static string Style((int R, int G, int B) c) => $"background:rgb({c.R},{c.G},{c.B});color:{TextColor(c)}";

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
