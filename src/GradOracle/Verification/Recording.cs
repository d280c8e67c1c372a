using System.Text.Json;
using GradOracle.Cases;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>
/// Regression snapshots of an implementation itself (--record DIR, --against DIR): its outputs and
/// gradients per case, so that a later version is compared with the earlier one even for ops the oracle
/// has no reference for.
/// </summary>
internal static class Recording
{
    private static string PathOf(string dir, WorkItem item) => Path.Combine(dir, item.Id.Replace('/', Path.DirectorySeparatorChar) + ".json");

    private sealed record Recorded(string Id, string Op, Tensor Output, Dictionary<string, Tensor> Grads);

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { TensorJsonConverter.Instance },
    };

    public static void Save(string dir, WorkItem item, Tensor output, NamedTensors grads)
    {
        var recorded = new Recorded(item.Id, item.Oracle.Name, output, grads.Items.ToDictionary(g => g.Name, g => g.Value));
        var path = PathOf(dir, item);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        CaseStore.WriteAtomically(path, JsonSerializer.Serialize(recorded, Options) + "\n");
    }

    /// <summary>Null when the answer equals the recorded one to the dtype's precision, else what changed.</summary>
    public static string? Compare(string dir, WorkItem item, Tensor output, NamedTensors grads, string dtype)
    {
        var path = PathOf(dir, item);
        if (!File.Exists(path)) return $"no recording at {path}";
        Recorded? file;
        try { file = JsonSerializer.Deserialize<Recorded>(File.ReadAllText(path), Options); }
        catch (JsonException e) { return $"the recording {path} cannot be read: {e.Message}"; }
        if (file?.Output is null || file.Grads is null) return $"the recording {path} lacks \"output\" or \"grads\"";
        var recorded = new List<(string, Tensor)> { ("output", file.Output) };
        recorded.AddRange(file.Grads.Select(g => ($"grads.{g.Key}", g.Value)));
        var now = new Dictionary<string, Tensor> { ["output"] = output };
        foreach (var (n, g) in grads.Items) now[$"grads.{n}"] = g;
        double u = DtypeTolerance.UnitRoundoff(dtype);
        foreach (var (key, was) in recorded)
        {
            if (!now.TryGetValue(key, out var t)) return $"{key} is no longer returned";
            if (t.Shape != was.Shape) return $"{key} changed shape from {was.Shape} to {t.Shape}";
            double scale = Tolerance.MaxAbs(was);
            for (int i = 0; i < was.Count; i++)
            {
                double a = was.At(i), b = t.At(i);
                bool same = double.IsNaN(a) || double.IsNaN(b) ? double.IsNaN(a) && double.IsNaN(b) : Math.Abs(a - b) <= 4 * u * (Math.Abs(a) + scale) || a == b;
                if (!same) return $"{key}[{string.Join(", ", was.Shape.Coordinates(i))}] was {Tensor.FormatNumber(a)}, is now {Tensor.FormatNumber(b)}";
            }
        }
        return null;
    }
}
