using System.Text;

namespace GradOracle.Protocol;

/// <summary>
/// UTF-8 text from a stream, each <see cref="Read(char[], int, int)"/> returning what one read of the stream
/// gives. A <see cref="StreamReader"/> asked for more characters than it holds reads again while the pipe's
/// last read came back full, so a peer that writes in whole 4096-byte chunks and then waits for an answer
/// leaves complete lines stuck in its buffer: both sides wait. Here a read waits only when nothing is there.
/// </summary>
public sealed class AvailableTextReader(Stream stream) : TextReader
{
    private readonly Decoder decoder = new UTF8Encoding(false).GetDecoder();
    private readonly byte[] bytes = new byte[65536];
    private bool ended;

    /// <inheritdoc/>
    public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

    /// <inheritdoc/>
    public override int Read(Span<char> buffer)
    {
        if (buffer.Length < 2) throw new ArgumentException("needs room for 2 characters (a surrogate pair)", nameof(buffer));
        while (!ended)
        {
            // One byte fewer than characters fit: with a partial character held over, one byte may complete a surrogate pair.
            int n = stream.Read(bytes, 0, Math.Min(bytes.Length, buffer.Length - 1));
            ended = n <= 0;
            int chars = decoder.GetChars(bytes.AsSpan(0, Math.Max(n, 0)), buffer, flush: ended);
            if (chars > 0 || ended) return chars;
            // Only part of a multi-byte character came: read on.
        }
        return 0;
    }

    /// <inheritdoc/>
    public override int Read() => throw new NotSupportedException("read in blocks");

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing) stream.Dispose();
        base.Dispose(disposing);
    }
}
