using System.Text;

namespace GradOracle.Protocol;

/// <summary>
/// Makes text from an implementation (its stderr, replies, error messages) safe to show on a terminal or write
/// into a report: nothing it contains can move the cursor, recolour, retitle or reorder what is shown.
/// </summary>
public static class Printable
{
    /// <summary>
    /// <paramref name="text"/> with every control character written out: the C0 controls (U+0000 to U+001F),
    /// DEL and the C1 controls (U+007F to U+009F), the line and paragraph separators (U+2028, U+2029), the
    /// bidirectional embeddings, overrides and isolates (U+202A to U+202E, U+2066 to U+2069) and lone surrogates.
    /// Tab, line feed and carriage return become <c>\t</c>, <c>\n</c>, <c>\r</c>, the others <c>\uXXXX</c>
    /// (ESC is <c>\u001b</c>). With <paramref name="keepLineBreaks"/> (multi-line text such as a stderr
    /// capture) tab and line feed stay as they are and a carriage return before a line feed is dropped;
    /// otherwise (one-line contexts such as a failure's reason) they are escaped too. Backslashes are left
    /// alone, so the result is meant to be read, not parsed back, and escaping twice changes nothing.
    /// </summary>
    public static string Escape(string text, bool keepLineBreaks = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        int first = 0;
        while (first < text.Length && !NeedsEscape(text, first, keepLineBreaks)) first++;
        if (first == text.Length) return text;
        var sb = new StringBuilder(text.Length + 16).Append(text, 0, first);
        for (int i = first; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(c).Append(text[++i]);
                continue;
            }
            if (!NeedsEscape(text, i, keepLineBreaks)) sb.Append(c);
            else if (keepLineBreaks && c == '\r' && i + 1 < text.Length && text[i + 1] == '\n') { }
            else sb.Append(c switch
            {
                '\t' => "\\t",
                '\n' => "\\n",
                '\r' => "\\r",
                _ => $"\\u{(int)c:x4}",
            });
        }
        return sb.ToString();
    }

    private static bool NeedsEscape(string text, int i, bool keepLineBreaks)
    {
        char c = text[i];
        if (keepLineBreaks && c is '\t' or '\n') return false;
        if (c < 0x20 || c is >= '\u007f' and <= '\u009f' or '\u2028' or '\u2029' or >= '\u202a' and <= '\u202e' or >= '\u2066' and <= '\u2069')
            return true;
        if (char.IsHighSurrogate(c)) return i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]);
        return char.IsLowSurrogate(c) && (i == 0 || !char.IsHighSurrogate(text[i - 1]));
    }
}
