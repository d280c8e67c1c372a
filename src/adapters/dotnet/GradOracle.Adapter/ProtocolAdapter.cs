using System.Text.Json;
using System.Text.Json.Nodes;

namespace GradOracle.Adapter;

/// <summary>
/// GradOracle's protocol v1 (docs/protocol.md) for implementations in C# (a TorchSharp module, hand-written kernels):
/// register each op under its torch.nn.functional name, then <see cref="Serve"/>. The adapter answers hello, writes NaN
/// and infinities as the strings the protocol wants and keeps -0.0, flushes every reply, sends Console output to
/// stderr from its construction on (no stray Console.WriteLine corrupts the stream), and turns
/// <see cref="UnsupportedException"/> and any other exception into that case's reply; the run goes on.
/// </summary>
public sealed class ProtocolAdapter
{
    private readonly string name, dtype;
    private readonly IReadOnlyDictionary<string, object> conventions;
    private readonly SortedDictionary<string, Func<IReadOnlyDictionary<string, ProtocolTensor>, JsonObject, ProtocolTensor?, OpResult>> ops = new(StringComparer.Ordinal);
    private readonly TextWriter replies;

    /// <summary>Creates the adapter; from here on Console.Out writes to stderr, and the replies keep the real stdout.</summary>
    /// <param name="name">The implementation's name, shown in the report.</param>
    /// <param name="dtype">The precision it computes in: float64, float32, float16 or bfloat16.</param>
    /// <param name="conventions">What it does where a gradient is a set (tie_policy, nan_rule, relu_at_zero, ...), if it declares any.</param>
    public ProtocolAdapter(string name, string dtype = "float64", IReadOnlyDictionary<string, object>? conventions = null)
    {
        this.name = name;
        this.dtype = dtype;
        this.conventions = conventions ?? new Dictionary<string, object>();
        replies = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = false, NewLine = "\n" };
        Console.SetOut(Console.Error);
    }

    /// <summary>Registers <paramref name="op"/> for an op name: it receives the inputs by name, the attributes and grad_output (null: forward only).</summary>
    public ProtocolAdapter Op(string opName, Func<IReadOnlyDictionary<string, ProtocolTensor>, JsonObject, ProtocolTensor?, OpResult> op)
    {
        ops[opName] = op;
        return this;
    }

    /// <summary>The reply to one request line; never throws.</summary>
    public string Answer(string line)
    {
        JsonNode? id = null;
        try
        {
            var request = JsonNode.Parse(line)!.AsObject();
            id = request["id"]?.DeepClone();
            var type = request["type"]?.GetValue<string>();
            if (type == "hello")
            {
                var hello = new JsonObject { ["id"] = id, ["protocol"] = 1, ["name"] = name, ["dtype"] = dtype, ["ops"] = new JsonArray([.. ops.Keys.Select(k => (JsonNode)k)]) };
                if (conventions.Count > 0) hello["conventions"] = JsonSerializer.SerializeToNode(conventions);
                return hello.ToJsonString();
            }
            if (type != "run") return Error(id, $"unknown request type \"{type}\"");
            var op = request["op"]!.GetValue<string>();
            if (!ops.TryGetValue(op, out var fn))
                return new JsonObject { ["id"] = id, ["unsupported"] = true, ["reason"] = $"{op} is not registered with this adapter" }.ToJsonString();
            var inputs = request["inputs"]!.AsObject().ToDictionary(p => p.Key, p => Read(p.Value!));
            var dy = request["grad_output"] is JsonNode g ? Read(g) : null;
            var result = fn(inputs, request["attrs"]?.AsObject() ?? [], dy);
            var reply = new JsonObject { ["id"] = id, ["output"] = Write(result.Output, "output") };
            if (dy is not null)
                reply["grads"] = new JsonObject((result.Grads ?? throw new InvalidOperationException($"{op}: grad_output was sent, so the result needs its grads"))
                    .Select(p => KeyValuePair.Create(p.Key, (JsonNode?)Write(p.Value, $"grads.{p.Key}"))));
            return reply.ToJsonString();
        }
        catch (UnsupportedException e) { return new JsonObject { ["id"] = id, ["unsupported"] = true, ["reason"] = e.Message }.ToJsonString(); }
        catch (Exception e) { return Error(id, $"{e.GetType().Name}: {e.Message}"); }
    }

    /// <summary>Reads requests from stdin until it closes and writes each reply to the real stdout, flushed.</summary>
    public int Serve()
    {
        while (Console.In.ReadLine() is { } line)
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            replies.WriteLine(Answer(line));
            replies.Flush();
        }
        return 0;
    }

    private static string Error(JsonNode? id, string message) => new JsonObject { ["id"] = id, ["error"] = message }.ToJsonString();

    private static ProtocolTensor Read(JsonNode t) => new(
        [.. t["shape"]!.AsArray().Select(d => d!.GetValue<long>())],
        [.. t["data"]!.AsArray().Select(v => v!.GetValueKind() == JsonValueKind.String
            ? v.GetValue<string>() switch
            {
                "NaN" => double.NaN, "Infinity" => double.PositiveInfinity, "-Infinity" => double.NegativeInfinity,
                var s => throw new FormatException($"the string \"{s}\" is not a number"),
            }
            : v.GetValue<double>())]);

    private static JsonObject Write(ProtocolTensor t, string what)
    {
        long count = t.Shape.Aggregate(1L, (a, d) => a * d);
        if (count != t.Data.Length) throw new InvalidOperationException($"{what}: shape [{string.Join(", ", t.Shape)}] needs {count} values, the data holds {t.Data.Length}");
        return new JsonObject
        {
            ["shape"] = new JsonArray([.. t.Shape.Select(d => (JsonNode)d)]),
            ["data"] = new JsonArray([.. t.Data.Select(Number)]),
        };
    }

    // NaN and infinities are strings; -0.0 is written as such (System.Text.Json would write "-0").
    private static JsonNode Number(double v) =>
        double.IsNaN(v) ? "NaN" : double.IsPositiveInfinity(v) ? "Infinity" : double.IsNegativeInfinity(v) ? "-Infinity"
        : v == 0 && double.IsNegative(v) ? JsonNode.Parse("-0.0")! : JsonValue.Create(v);
}
