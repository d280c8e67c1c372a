using System.Text;
using GradOracle;
using GradOracle.Protocol;
using SharpFuzz;

// One AFL++ input is a stream of protocol lines, split and answered as `gradoracle serve` does (its LineReader,
// blank lines skipped, Server.Answer). A reply from Answer's catch-all ("internal error of the oracle") is a
// bug, and so is one from its OutOfMemory catch (a limit that failed to bound an allocation): either is thrown,
// so AFL++ records the input as a crash. An exception escaping Answer or a stack overflow kills the run just
// the same, and a line slower than afl-fuzz's -t is recorded as a hang.
Fuzzer.OutOfProcess.Run(stream =>
{
    using var text = new StreamReader(stream, new UTF8Encoding(false, false), detectEncodingFromByteOrderMarks: false);
    var reader = new LineReader(text, Limits.Current.MaxLineChars);
    while (reader.ReadLine() is { } line)
    {
        if (line.Trim().Length == 0) continue;
        var reply = Server.Answer(line);
        if (reply.Contains("internal error of the oracle", StringComparison.Ordinal)
            || reply.Contains("needs more memory than this process has", StringComparison.Ordinal))
            throw new Exception(reply);
    }
});
