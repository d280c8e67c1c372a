using System.Text;
using System.Text.Json.Nodes;

namespace GradOracle.Tests.Protocol;

/// <summary>
/// A seeded corpus of malformed and adversarial protocol lines: valid requests of every op family with one part
/// replaced by a value of another kind, an extreme number, a lone surrogate, a huge shape or window; removed
/// fields; unknown attributes; truncations, byte noise and deep nesting. The same seed gives the same lines.
/// </summary>
public static class HostileLines
{
    private static readonly string[] Seeds =
    [
        """{"id": 1, "type": "hello", "protocol": 1}""",
        """{"id": 2, "type": "run", "op": "max_pool1d", "attrs": {"kernel_size": [2], "stride": [1], "padding": [1], "dilation": [1], "ceil_mode": true, "tie_policy": "first", "nan_rule": "propagate"}, "inputs": {"input": {"shape": [1, 1, 3], "data": [1, 2, 3]}}, "grad_output": {"shape": [1, 1, 4], "data": [1, 1, 1, 1]}}""",
        """{"id": 3, "type": "run", "op": "avg_pool2d", "attrs": {"kernel_size": [2, 2], "padding": [0, 1], "count_include_pad": false, "divisor_override": 3}, "inputs": {"input": {"shape": [1, 1, 2, 2], "data": [1, 2, 3, 4]}}}""",
        """{"id": 4, "type": "run", "op": "adaptive_max_pool2d", "attrs": {"output_size": [2, 3]}, "inputs": {"input": {"shape": [1, 1, 3, 3], "data": [1, 2, 3, 4, 5, 6, 7, 8, 9]}}}""",
        """{"id": 5, "type": "run", "op": "conv2d", "attrs": {"stride": [1, 1], "padding": [1, 0], "dilation": [1, 1], "groups": 1}, "inputs": {"input": {"shape": [1, 1, 2, 2], "data": [1, 2, 3, 4]}, "weight": {"shape": [1, 1, 1, 1], "data": [2]}, "bias": {"shape": [1], "data": [0.5]}}, "grad_output": {"shape": [1, 1, 4, 2], "data": [1, 1, 1, 1, 1, 1, 1, 1]}}""",
        """{"id": 6, "type": "run", "op": "linear", "inputs": {"input": {"shape": [1, 2], "data": [1, 2]}, "weight": {"shape": [1, 2], "data": [3, 4]}}}""",
        """{"id": 7, "type": "run", "op": "leaky_relu", "attrs": {"negative_slope": 0.1}, "inputs": {"input": {"shape": [3], "data": [-1, "NaN", "-Infinity"]}}, "grad_output": {"shape": [3], "data": [1, 1, 1]}}""",
        """{"id": 8, "type": "run", "op": "softmax", "attrs": {"dim": 1}, "inputs": {"input": {"shape": [1, 3], "data": [1, 2, 3]}}}""",
        """{"id": 9, "type": "run", "op": "cross_entropy", "attrs": {"reduction": "mean"}, "inputs": {"input": {"shape": [1, 3], "data": [1, 2, 3]}, "target": {"shape": [1], "data": [2]}}}""",
        """{"id": 10, "type": "run", "op": "batch_norm", "attrs": {"training": true, "eps": 1e-5}, "inputs": {"input": {"shape": [2, 1], "data": [1, 2]}, "weight": {"shape": [1], "data": [1]}, "bias": {"shape": [1], "data": [0]}}}""",
        """{"id": 11, "type": "run", "op": "flatten", "attrs": {"start_dim": 1, "end_dim": -1}, "inputs": {"input": {"shape": [1, 2, 2], "data": [1, 2, 3, 4]}}}""",
        """{"id": 12, "type": "run", "op": "stochastic_pool1d", "attrs": {"kernel_size": [2], "training": false}, "inputs": {"input": {"shape": [1, 1, 2], "data": [0.5, 1]}}}""",
    ];

    private static readonly Func<Random, JsonNode?>[] Replacements =
    [
        _ => JsonValue.Create(2147483647), _ => JsonValue.Create(-2147483648), _ => JsonValue.Create(1073741823), _ => JsonValue.Create(-1),
        _ => JsonValue.Create(0), _ => JsonValue.Create(1.5), _ => JsonValue.Create(9007199254740993L), _ => JsonValue.Create(long.MaxValue),
        _ => JsonValue.Create("NaN"), _ => JsonValue.Create("Infinity"), _ => JsonValue.Create(""), _ => JsonValue.Create("\ud800"),
        _ => JsonValue.Create("\u001b[31m"), _ => JsonValue.Create(true), _ => null, _ => new JsonArray(), _ => new JsonObject(),
        _ => new JsonArray(2147483647), _ => new JsonArray(100000, 100000), _ => new JsonArray(1000000, 1000000), _ => new JsonArray(-1, 2),
        _ => new JsonArray(300000000), _ => new JsonArray(1, 2, 3, 4, 5), _ => new JsonArray("a"), _ => new JsonArray(1.5),
        r => new JsonObject { ["shape"] = new JsonArray(r.Next(0, 4)), ["data"] = new JsonArray() },
        _ => new JsonObject { ["shape"] = new JsonArray(2147483647, 2), ["data"] = new JsonArray() },
        _ => new JsonObject { ["shape"] = new JsonArray(0, 2147483647, 2147483647), ["data"] = new JsonArray() },
        r => JsonValue.Create(r.NextDouble() * 1e6 - 5e5),
    ];

    /// <summary><paramref name="count"/> lines from <paramref name="seed"/>.</summary>
    public static IEnumerable<string> Generate(int seed, int count)
    {
        var rng = new Random(seed);
        for (int i = 0; i < count; i++) yield return One(rng);
    }

    private static string One(Random rng)
    {
        var text = Seeds[rng.Next(Seeds.Length)];
        switch (rng.Next(10))
        {
            case 0: return text[..rng.Next(text.Length)];                                             // truncated
            case 1: return Noise(text, rng);                                                           // byte noise
            case 2: return new string('[', 200 + rng.Next(2000)) + new string(']', rng.Next(3000));   // deep nesting
            case 3: return Raw(rng);                                                                   // raw literal texts
        }
        var node = JsonNode.Parse(text)!;
        int edits = 1 + rng.Next(3);
        for (int e = 0; e < edits; e++) Mutate(node, rng);
        var line = node.ToJsonString();
        // Numbers System.Text.Json will not write: out of double's range, written by hand.
        return rng.Next(8) == 0 ? line.Replace("2147483647", rng.Next(2) == 0 ? "1e999" : "-1e400") : line;
    }

    private static void Mutate(JsonNode root, Random rng)
    {
        var containers = new List<JsonNode>();
        Collect(root, containers);
        var target = containers[rng.Next(containers.Count)];
        if (target is JsonObject o && o.Count > 0)
        {
            var key = o.ElementAt(rng.Next(o.Count)).Key;
            switch (rng.Next(4))
            {
                case 0: o.Remove(key); break;
                case 1: o["bogus_" + rng.Next(10)] = Replacements[rng.Next(Replacements.Length)](rng); break;
                default: o[key] = Replacements[rng.Next(Replacements.Length)](rng); break;
            }
        }
        else if (target is JsonArray a && a.Count > 0)
            a[rng.Next(a.Count)] = Replacements[rng.Next(Replacements.Length)](rng);
    }

    private static void Collect(JsonNode node, List<JsonNode> into)
    {
        into.Add(node);
        if (node is JsonObject o) foreach (var p in o) { if (p.Value is JsonObject or JsonArray) Collect(p.Value!, into); }
        else if (node is JsonArray a) foreach (var x in a) { if (x is JsonObject or JsonArray) Collect(x!, into); }
    }

    private static string Noise(string text, Random rng)
    {
        var sb = new StringBuilder(text);
        const string noise = "\"{}[],:\\0e-.\u0000\ud800\u001b ";
        for (int k = 0; k < 1 + rng.Next(4); k++)
            sb[rng.Next(sb.Length)] = noise[rng.Next(noise.Length)];
        return sb.ToString();
    }

    private static string Raw(Random rng) => rng.Next(12) switch
    {
        0 => "123",
        1 => "null",
        2 => "\"\\ud800\"",
        3 => "[1, 2]",
        4 => "{}",
        5 => """{"id": "1", "type": "hello", "protocol": 1}""",
        6 => """{"id": 1e400, "type": "run"}""",
        7 => """{"id": 1, "type": "hello", "protocol": 1, "id": 2}""",
        8 => """{"id": 1, "type": "run", "op": "relu", "inputs": {"input": {"shape": [2], "data": [1e999, 2]}}}""",
        9 => """{"id": 1, "type": "run", "op": "max_pool1d", "attrs": {"kernel_size": [2147483647], "padding": [1073741823], "ceil_mode": true}, "inputs": {"input": {"shape": [1, 1, 3], "data": [1, 2, 3]}}}""",
        10 => """{"id": 1, "type": "run", "op": "\ud800", "inputs": {"\udc00": {"shape": [1], "data": [1]}}}""",
        _ => "\u0000\u0001{\"id\": 1}",
    };
}
