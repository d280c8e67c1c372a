using System.Text;
using System.Text.Json;
using GradOracle.Cases;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Protocol;

/// <summary>Protocol v1's message types (docs/protocol.md): one JSON object per line.</summary>
public static class Messages
{
    /// <summary>The protocol version this build speaks.</summary>
    public const int Version = 1;

    /// <summary>The tensor encodings this build reads, and offers in its hello.</summary>
    public static readonly IReadOnlyList<string> Encodings = ["json", "base64"];

    /// <summary>{"id": 0, "type": "hello", "protocol": 1, "encodings": ["json", "base64"]}</summary>
    public static string Hello(long id) =>
        $"{{\"id\": {id}, \"type\": \"hello\", \"protocol\": {Version}, \"encodings\": [{string.Join(", ", Encodings.Select(CaseJson.String))}]}}";

    /// <summary>
    /// {"id": n, "type": "run", "op": ..., "attrs": {...}, "inputs": {...}, "grad_output": T}; with <paramref name="base64Dtype"/>
    /// every tensor in <see cref="Base64Tensor"/>'s form, in that dtype, or int64 for an input the op reads as integers.
    /// </summary>
    public static string Run(RunRequest r, string? base64Dtype = null)
    {
        var integral = OpFactory.Describe(r.Op).Inputs.Where(i => i.IsIntegralIn(r.Inputs)).Select(i => i.Name).ToHashSet();
        string T(string name, Tensor t) => base64Dtype is null ? TensorJsonConverter.Text(t) : Base64Tensor.Text(t, integral.Contains(name) ? "int64" : base64Dtype);
        var sb = new StringBuilder($"{{\"id\": {r.Id}, \"type\": \"run\", \"op\": {CaseJson.String(r.Op)}, \"attrs\": {{");
        sb.Append(string.Join(", ", r.Attributes.Select(a => $"{CaseJson.String(a.Key)}: {CaseJson.Value(a.Value)}")));
        sb.Append("}, \"inputs\": {");
        sb.Append(string.Join(", ", r.Inputs.Items.Select(i => $"{CaseJson.String(i.Name)}: {T(i.Name, i.Value)}")));
        sb.Append('}');
        if (r.GradOutput is not null) sb.Append(", \"grad_output\": ").Append(T("", r.GradOutput));
        return sb.Append('}').ToString();
    }

    /// <summary>
    /// A hello reply, with the conventions the implementation declares (situation key to choice) when there are any,
    /// and the tensor encoding it asks requests in when that is not JSON.
    /// </summary>
    public static string HelloReply(long id, string name, string dtype, IEnumerable<string> ops, IReadOnlyDictionary<string, string>? conventions = null, string encoding = "json")
    {
        var declared = conventions is { Count: > 0 }
            ? $", \"conventions\": {{{string.Join(", ", conventions.Select(c => $"{CaseJson.String(c.Key)}: {CaseJson.String(c.Value)}"))}}}" : "";
        return $"{{\"id\": {id}, \"protocol\": {Version}, \"name\": {CaseJson.String(name)}, \"dtype\": {CaseJson.String(dtype)}, \"ops\": [{string.Join(", ", ops.Select(CaseJson.String))}]{declared}{(encoding == "json" ? "" : $", \"encoding\": {CaseJson.String(encoding)}")}}}";
    }

    /// <summary>
    /// A run reply with output, (when asked) gradients, (for ops that select) the selected indices and (batch norm in
    /// training) the extra outputs; with <paramref name="base64"/> its tensors in <see cref="Base64Tensor"/>'s form,
    /// float64 and the indices int64.
    /// </summary>
    public static string RunReply(long id, Tensor output, NamedTensors? grads, Tensor? indices = null, bool base64 = false, NamedTensors? extras = null)
    {
        string T(Tensor t, string dtype) => base64 ? Base64Tensor.Text(t, dtype) : TensorJsonConverter.Text(t);
        string Object(NamedTensors n) => "{" + string.Join(", ", n.Items.Select(g => $"{CaseJson.String(g.Name)}: {T(g.Value, "float64")}")) + "}";
        var sb = new StringBuilder($"{{\"id\": {id}, \"output\": {T(output, "float64")}");
        if (grads is not null) sb.Append(", \"grads\": ").Append(Object(grads));
        if (indices is not null) sb.Append(", \"indices\": ").Append(T(indices, "int64"));
        if (extras is not null) sb.Append(", \"extras\": ").Append(Object(extras));
        return sb.Append('}').ToString();
    }

    /// <summary>An error reply.</summary>
    public static string ErrorReply(long? id, string message) => $"{{\"id\": {(id is null ? "null" : id.ToString())}, \"error\": {CaseJson.String(message)}}}";

    /// <summary>An "unsupported" reply, with the reason when there is one.</summary>
    public static string UnsupportedReply(long id, string? reason = null) =>
        $"{{\"id\": {id}, \"unsupported\": true{(reason is null ? "" : $", \"reason\": {CaseJson.String(reason)}")}}}";

    /// <summary>Parses a request line (as `gradoracle serve` reads it); a <see cref="CaseFormatException"/> naming the field for anything else.</summary>
    public static Request ParseRequest(string line) => Guarded<Request>(line, root =>
    {
        long id = Id(root);
        var type = CaseJson.ReadString(CaseJson.Required(root, "type", "$"), "type");
        return type switch
        {
            "hello" => new HelloRequest(id, CaseJson.ReadInt(CaseJson.Required(root, "protocol", "$"), "protocol")) { Encodings = Strings(root, "encodings") ?? ["json"] },
            "run" => Budgeted(new RunRequest(id,
                CaseJson.ReadString(CaseJson.Required(root, "op", "$"), "op"),
                root.TryGetProperty("attrs", out var a) && a.ValueKind != JsonValueKind.Null ? CaseJson.ReadAttributes(a, "attrs") : OpAttributes.None,
                Named(CaseJson.Required(root, "inputs", "$"), "inputs"),
                root.TryGetProperty("grad_output", out var g) && g.ValueKind != JsonValueKind.Null ? ReadTensor(g, "grad_output") : null)),
            _ => throw new CaseFormatException("type", $"\"{type}\" is not hello or run"),
        };
    });

    /// <summary>Parses a response line (as `gradoracle verify` reads it); a <see cref="CaseFormatException"/> naming the field for anything else.</summary>
    public static Response ParseResponse(string line) => Guarded<Response>(line, root =>
    {
        long id = Id(root);
        if (root.TryGetProperty("error", out var err)) return new ErrorResponse(id, err.ValueKind == JsonValueKind.String ? CaseJson.ReadString(err, "error") : err.GetRawText());
        if (root.TryGetProperty("unsupported", out var u) && u.ValueKind is JsonValueKind.True or JsonValueKind.String)
            return new UnsupportedResponse(id)
            {
                Reason = u.ValueKind == JsonValueKind.String ? CaseJson.ReadString(u, "unsupported")
                    : root.TryGetProperty("reason", out var why) && why.ValueKind == JsonValueKind.String ? CaseJson.ReadString(why, "reason") : null,
            };
        if (root.TryGetProperty("protocol", out var p))
        {
            var ops = root.TryGetProperty("ops", out var o) && o.ValueKind == JsonValueKind.Array
                ? o.EnumerateArray().Select((x, i) => CaseJson.ReadString(x, $"ops[{i}]")).ToArray()
                : throw new CaseFormatException("ops", "a hello reply lists its ops in an array of strings");
            string S(string name) => CaseJson.ReadString(CaseJson.Required(root, name, "$"), name);
            var encoding = root.TryGetProperty("encoding", out var en) && en.ValueKind != JsonValueKind.Null ? CaseJson.ReadString(en, "encoding") : "json";
            if (!Encodings.Contains(encoding))
                throw new CaseFormatException("encoding", $"\"{encoding}\" is not an encoding GradOracle offers ({string.Join(", ", Encodings)})");
            return new HelloResponse(id, CaseJson.ReadInt(p, "protocol"), S("name"), S("dtype"), ops) { Conventions = Conventions(root), Encoding = encoding };
        }
        var output = ReadTensor(CaseJson.Required(root, "output", "$"), "output");
        var grads = root.TryGetProperty("grads", out var gr) && gr.ValueKind != JsonValueKind.Null ? Named(gr, "grads") : null;
        var extras = root.TryGetProperty("extras", out var ex) && ex.ValueKind != JsonValueKind.Null ? Named(ex, "extras") : null;
        Total(output.Count + (grads?.Items.Sum(t => (long)t.Value.Count) ?? 0) + (extras?.Items.Sum(t => (long)t.Value.Count) ?? 0));
        return new RunResponse(id, output, grads, extras);
    });

    // One message's tensors together stay within the element limit, as each does alone.
    private static RunRequest Budgeted(RunRequest r)
    {
        Total(r.Inputs.Items.Sum(t => (long)t.Value.Count) + (r.GradOutput?.Count ?? 0));
        return r;
    }

    private static void Total(long elements)
    {
        if (elements > Limits.Current.MaxElements)
            throw new CaseFormatException("$", $"the message's tensors hold {elements:N0} elements together, more than the limit of {Limits.Current.MaxElements:N0} (--max-elements raises it)");
    }

    /// <summary>
    /// Parses <paramref name="line"/> as one JSON object and reads it; whatever the reader meets that is not the format
    /// (a wrong kind the typed reads missed, a refused shape) becomes a <see cref="CaseFormatException"/>, never a crash.
    /// </summary>
    private static T Guarded<T>(string line, Func<JsonElement, T> read)
    {
        using var doc = Parse(line);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new CaseFormatException("$", $"expected a JSON object, found {CaseJson.Kind(root)}");
        try { return read(root); }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ParameterException or OverflowException)
        {
            throw new CaseFormatException("$", e.Message);
        }
    }

    /// <summary>A hello's "conventions": situation key to choice, numbers in their JSON text; empty when absent.</summary>
    private static IReadOnlyDictionary<string, string> Conventions(JsonElement root)
    {
        var result = new Dictionary<string, string>();
        if (!root.TryGetProperty("conventions", out var c) || c.ValueKind == JsonValueKind.Null) return result;
        if (c.ValueKind != JsonValueKind.Object) throw new CaseFormatException("conventions", "expected an object of situation: choice");
        foreach (var p in CaseJson.Members(c, "conventions"))
            result[p.Name] = p.Value.ValueKind switch
            {
                JsonValueKind.String => CaseJson.ReadString(p.Value, $"conventions.{p.Name}"),
                JsonValueKind.Number => p.Value.GetRawText(),
                _ => throw new CaseFormatException($"conventions.{p.Name}", "expected a string or a number"),
            };
        return result;
    }

    private static JsonDocument Parse(string line)
    {
        // A parsed document costs about 12 bytes per value on top of the line: more values than any message within the
        // element limit can hold are refused before parsing, so a line of millions of tiny numbers stays cheap.
        long values = Values(line), most = Limits.Current.MaxElements + ValuesBeyondTensors;
        if (values > most)
            throw new CaseFormatException("$", $"the line holds at least {values:N0} values, more than a message within the element limit can ({most:N0}; --max-elements raises it)");
        try { return JsonDocument.Parse(line); }
        catch (JsonException e) { throw new CaseFormatException("$", $"not a JSON object: {e.Message}"); }
        catch (ArgumentException) { throw new CaseFormatException("$", "the line is not valid Unicode (it holds a lone surrogate)"); }
    }

    /// <summary>Values a message may hold besides its tensors' elements: shapes, attributes, op names, conventions.</summary>
    public const int ValuesBeyondTensors = 65536;

    // Separators outside strings, plus one: a lower bound on the values (numbers, strings, literals) of the line.
    private static long Values(string line)
    {
        long n = 1;
        bool inString = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (inString) { if (c == '\\') i++; else if (c == '"') inString = false; }
            else if (c == '"') inString = true;
            else if (c == ',') n++;
        }
        return n;
    }

    private static long Id(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.Number && id.TryGetInt64(out var v)
            ? v : throw new CaseFormatException("id", "every message carries an integer id");

    private static NamedTensors Named(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.Object
            ? new NamedTensors(CaseJson.Members(e, path).Select(p => (p.Name, ReadTensor(p.Value, $"{path}.{p.Name}"))).ToArray())
            : throw new CaseFormatException(path, "expected an object of named tensors");

    /// <summary>A tensor in either of the protocol's forms: JSON numbers or <see cref="Base64Tensor"/>'s.</summary>
    private static Tensor ReadTensor(JsonElement e, string path) => Base64Tensor.IsBase64(e) ? Base64Tensor.Read(e, path) : CaseJson.ReadTensor(e, path);

    private static string[]? Strings(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var a) || a.ValueKind == JsonValueKind.Null ? null
            : a.ValueKind == JsonValueKind.Array ? [.. a.EnumerateArray().Select((x, i) => CaseJson.ReadString(x, $"{name}[{i}]"))]
            : throw new CaseFormatException(name, "expected an array of strings");
}

