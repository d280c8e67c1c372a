using GradOracle.Cases;
using GradOracle.Layers;

namespace GradOracle.Protocol;

/// <summary>
/// `gradoracle serve`: protocol v1, answering hello and run requests with an engine's float64 outputs and
/// gradients: the oracle's own (max pooling's tie_policy and nan_rule taken from the attributes) or libtorch's.
/// </summary>
public static partial class Server
{
    /// <summary>Answers one request line with the oracle's values, whatever it holds: a reply or an error reply, never an exception.</summary>
    public static string Answer(string line) => Answer(line, OracleEngine.Instance);

    /// <summary>Answers one request line with <paramref name="engine"/>'s values: a reply or an error reply, never an exception.</summary>
    public static string Answer(string line, IServeEngine engine) => Answer(line, engine, new Session("json"));

    /// <summary>
    /// What a connection has agreed: the encoding the server prefers, and whether the client's hello offered it (then
    /// replies use it, and the hello reply asks requests in it).
    /// </summary>
    private sealed class Session(string preferred)
    {
        public string Preferred { get; } = preferred;
        public bool Base64 { get; set; }
    }

    private static string Answer(string line, IServeEngine engine, Session session)
    {
        try { return Reply(line, engine, session); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Anything the checks above missed is the oracle's own fault: said as such, and the server goes on.
            return Messages.ErrorReply(TryId(line), $"internal error of the oracle ({e.GetType().Name}: {e.Message}); please report this request");
        }
        catch (OutOfMemoryException)
        {
            return Messages.ErrorReply(TryId(line), $"the request needs more memory than this process has (--max-elements bounds what one request may ask, now {Limits.Current.MaxElements:N0})");
        }
    }

    private static string Reply(string line, IServeEngine engine, Session session)
    {
        if (LineReader.IsTooLong(line))
            return Messages.ErrorReply(null, $"bad request: the line is longer than {Limits.Current.MaxLineChars:N0} characters (--max-line-mb raises the limit)");
        Request request;
        try { request = Messages.ParseRequest(line); }
        catch (CaseFormatException e) { return Messages.ErrorReply(TryId(line), $"bad request: {e.Message}"); }
        switch (request)
        {
            case HelloRequest h:
                if (h.Protocol != Messages.Version) return Messages.ErrorReply(h.Id, $"protocol {h.Protocol} is not supported; this server speaks {Messages.Version}");
                session.Base64 = session.Preferred == "base64" && h.Encodings.Contains("base64");
                return Messages.HelloReply(h.Id, engine.Name, "float64", engine.Ops, engine.Conventions, session.Base64 ? "base64" : "json");
            case RunRequest r:
                try
                {
                    var op = engine.Answering(OpFactory.Create(r.Op, r.Attributes, r.Inputs.Names), out var whyNot);
                    if (op is null) return Messages.UnsupportedReply(r.Id, whyNot);
                    var output = op.Forward(r.Inputs);
                    return Messages.RunReply(r.Id, output, r.GradOutput is null ? null : op.Backward(r.Inputs, r.GradOutput), engine.Indices(op, r.Inputs), session.Base64,
                        (op as IHasExtraOutputs)?.ExtraOutputs(r.Inputs));
                }
                catch (Exception e) when (e is ParameterException or EngineException) { return Messages.ErrorReply(r.Id, e.Message); }
            default:
                return Messages.ErrorReply(request.Id, "unknown request");
        }
    }

    private static long? TryId(string line)
    {
        // A huge line is not parsed twice: its id is read where writers put it, first.
        if (line.Length > 1 << 20) return LeadingId().Match(line, 0, 256) is { Success: true } m && long.TryParse(m.Groups[1].Value, out var lead) ? lead : null;
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(line);
            return doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object && doc.RootElement.TryGetProperty("id", out var id)
                && id.ValueKind == System.Text.Json.JsonValueKind.Number && id.TryGetInt64(out var v) ? v : null;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException or InvalidOperationException) { return null; }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\G\s*\{\s*""id""\s*:\s*(-?\d{1,18})\s*[,}]")]
    private static partial System.Text.RegularExpressions.Regex LeadingId();

    /// <summary>Serves the oracle's values until the input ends: one response line per request line (lines past the length limit refused unread), flushed at once.</summary>
    public static void Serve(TextReader input, TextWriter output) => Serve(input, output, OracleEngine.Instance);

    /// <summary>
    /// Serves <paramref name="engine"/>'s values until the input ends, as <see cref="Serve(TextReader, TextWriter)"/>; with
    /// <paramref name="encoding"/> "base64", a client whose hello offers base64 gets its tensors so and is asked to send them so.
    /// </summary>
    public static void Serve(TextReader input, TextWriter output, IServeEngine engine, string encoding = "base64")
    {
        if (!Messages.Encodings.Contains(encoding)) throw new ArgumentException($"encoding \"{encoding}\" is not one of {string.Join(", ", Messages.Encodings)}", nameof(encoding));
        var session = new Session(encoding);
        var reader = new LineReader(input, Limits.Current.MaxLineChars);
        while (reader.ReadLine() is { } line)
        {
            if (line.Trim().Length == 0) continue;
            output.WriteLine(Answer(line, engine, session));
            output.Flush();
        }
    }
}
