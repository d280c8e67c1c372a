using System.Text;

namespace GradOracle.Protocol;

/// <summary>
/// Reads lines of at most a given length: a longer line is not buffered but skipped to its end and reported as
/// <see cref="TooLong"/>, so that no peer can make the reader hold more than the limit.
/// </summary>
public sealed class LineReader(TextReader reader, int maxChars)
{
    private readonly char[] buffer = new char[65536];
    private int position, filled;

    /// <summary>
    /// What <see cref="ReadLine"/> returns for a line longer than the limit (its text dropped); tell it by reference
    /// (<see cref="IsTooLong"/>), since a peer may send the same text as a line.
    /// </summary>
    public static readonly string TooLong = new("\0too long".AsSpan());

    /// <summary>Whether <paramref name="line"/> is <see cref="TooLong"/> itself, not a line that reads the same.</summary>
    public static bool IsTooLong(string? line) => ReferenceEquals(line, TooLong);

    /// <summary>The most characters a line may hold.</summary>
    public int MaxChars { get; } = maxChars;

    /// <summary>The next line without its terminator (a trailing '\r' dropped); <see cref="TooLong"/>; null at the end of the input.</summary>
    public string? ReadLine()
    {
        var line = new StringBuilder();
        bool tooLong = false, any = false;
        while (true)
        {
            if (position == filled)
            {
                filled = reader.Read(buffer, 0, buffer.Length);
                position = 0;
                if (filled <= 0)
                {
                    filled = 0;
                    return !any ? null : tooLong ? TooLong : Finish(line);
                }
            }
            any = true;
            int end = Array.IndexOf(buffer, '\n', position, filled - position);
            int stop = end < 0 ? filled : end;
            if (!tooLong)
            {
                if (line.Length + (stop - position) > MaxChars + 1) { tooLong = true; line.Clear(); }
                else line.Append(buffer, position, stop - position);
            }
            position = end < 0 ? filled : end + 1;
            if (end >= 0) return tooLong ? TooLong : Finish(line);
        }
    }

    private string Finish(StringBuilder line)
    {
        if (line.Length > 0 && line[^1] == '\r') line.Length--;
        if (line.Length > MaxChars) return TooLong;
        return line.ToString();
    }
}
