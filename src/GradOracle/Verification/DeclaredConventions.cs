using GradOracle.Layers;
using GradOracle.Protocol;

namespace GradOracle.Verification;

/// <summary>What a hello declares the implementation does where a gradient is a set, checked against the situations GradOracle knows.</summary>
internal static class DeclaredConventions
{
    /// <summary>The declaration in canonical form; a <see cref="ParameterException"/> naming the key and the rule it breaks.</summary>
    public static IReadOnlyDictionary<string, string> Of(HelloResponse hello)
    {
        var result = new Dictionary<string, string>();
        foreach (var (key, value) in hello.Conventions)
        {
            var situation = OpFactory.Situations.FirstOrDefault(s => s.Key == key)
                ?? throw new ParameterException($"hello.conventions.{key}", $"\"{value}\"",
                    $"is not a situation GradOracle knows (it knows {string.Join(", ", OpFactory.Situations.Select(s => s.Key))})");
            result[key] = situation.Normalise(value, out var error) ?? throw new ParameterException($"hello.conventions.{key}", $"\"{value}\"", error!);
        }
        return result;
    }

    /// <summary>Problems with the hello's op list: names GradOracle does not know (with the nearest it does), or none at all.</summary>
    public static List<string> OpProblems(HelloResponse hello)
    {
        var problems = new List<string>();
        if (hello.Ops.Count == 0) problems.Add("the hello lists no ops: nothing can be tested");
        foreach (var op in hello.Ops.Where(o => !OpFactory.Names.Contains(o)).Distinct())
            problems.Add($"the hello lists \"{op}\", which is not an op GradOracle knows: did you mean \"{Nearest(op)}\"? (names are torch.nn.functional's, e.g. max_pool2d)");
        return problems;
    }

    private static string Nearest(string name) => OpFactory.Names.MinBy(n => Distance(name.ToLowerInvariant(), n))!;

    /// <summary>Levenshtein distance.</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) d[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            int previous = d[0];
            d[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int t = d[j];
                d[j] = Math.Min(Math.Min(d[j] + 1, d[j - 1] + 1), previous + (a[i - 1] == b[j - 1] ? 0 : 1));
                previous = t;
            }
        }
        return d[b.Length];
    }
}
