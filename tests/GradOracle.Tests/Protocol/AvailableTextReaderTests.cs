using System.Text;
using GradOracle.Protocol;

namespace GradOracle.Tests.Protocol;

public class AvailableTextReaderTests
{
    /// <summary>A pipe as a peer fills it: the given chunks, one per read, then a wait for more that never ends.</summary>
    private sealed class ChunkedStream(params byte[][] chunks) : Stream
    {
        private int next, at;
        private readonly SemaphoreSlim never = new(0);

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (next == chunks.Length) { never.Wait(); return 0; }
            int n = Math.Min(count, chunks[next].Length - at);
            Array.Copy(chunks[next], at, buffer, offset, n);
            at += n;
            if (at == chunks[next].Length) (next, at) = (next + 1, 0);
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Test]
    public void Complete_lines_in_full_4096_byte_chunks_are_returned_without_waiting_for_more()
    {
        // Three requests of exactly 4096 bytes each, newline included, and then the peer waits for the answers.
        var line = new string('x', 4095) + "\n";
        var chunks = Enumerable.Range(0, 3).Select(_ => Encoding.UTF8.GetBytes(line)).ToArray();
        var reader = new LineReader(new AvailableTextReader(new ChunkedStream(chunks)), 1 << 20);
        var read = Task.Run(() => new[] { reader.ReadLine(), reader.ReadLine(), reader.ReadLine() });
        Assert.That(read.Wait(TimeSpan.FromSeconds(10)), Is.True, "the lines already read must not wait for the next chunk");
        Assert.That(read.Result.Select(l => l!.Length), Is.EqualTo(new[] { 4095, 4095, 4095 }));
    }

    [Test]
    public void A_character_split_between_reads_is_decoded_whole()
    {
        var bytes = Encoding.UTF8.GetBytes("é𝄞\n"); // 2 + 4 + 1 bytes
        var reader = new LineReader(new AvailableTextReader(new MemoryChunks(bytes, 1)), 100);
        Assert.That(reader.ReadLine(), Is.EqualTo("é𝄞"));
        Assert.That(reader.ReadLine(), Is.Null);
    }

    [Test]
    public void A_buffer_without_room_for_a_surrogate_pair_is_refused()
    {
        var reader = new AvailableTextReader(new MemoryStream([65]));
        Assert.That(() => reader.Read(new char[1], 0, 1), Throws.ArgumentException.With.Message.Contains("2 characters"));
    }

    /// <summary>A stream that returns at most <paramref name="size"/> bytes a read, then its end.</summary>
    private sealed class MemoryChunks(byte[] data, int size) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, size));
    }
}
