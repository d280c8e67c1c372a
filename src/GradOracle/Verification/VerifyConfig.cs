using System.Text.Json;
using System.Text.Json.Serialization;

namespace GradOracle.Verification;

/// <summary>
/// A project's gradoracle.json: what `gradoracle verify` runs when given no arguments (the implementation's command,
/// seed, case count, strictness, known failures). Every field is optional; command-line flags override it.
/// </summary>
public sealed record VerifyConfig
{
    /// <summary>The file `verify` looks for in the current directory.</summary>
    public const string FileName = "gradoracle.json";

    /// <summary>The implementation's command line (run from the current directory).</summary>
    public string? Impl { get; init; }
    /// <summary>A reference-cases directory, relative to the file's folder.</summary>
    public string? Cases { get; init; }
    /// <summary>Random cases only.</summary>
    public bool? NoReference { get; init; }
    /// <summary>Seed of the random cases.</summary>
    public int? Seed { get; init; }
    /// <summary>How many random cases.</summary>
    public int? Random { get; init; }
    /// <summary>Seconds per request.</summary>
    public double? Timeout { get; init; }
    /// <summary>Seconds for the whole run.</summary>
    public double? Budget { get; init; }
    /// <summary>Hold every gradient set to PyTorch's choice, and the known failures to the truth.</summary>
    public bool? Strict { get; init; }
    /// <summary>A sweep file to run too (<see cref="SweepFile"/>), relative to the file's folder.</summary>
    public string? Sweep { get; init; }
    /// <summary>Run the edge sweep too.</summary>
    public bool? Edges { get; init; }
    /// <summary>Cases expected to fail, each with its reason.</summary>
    public IReadOnlyList<KnownFailure> KnownFailures { get; init; } = [];

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Reads and checks <paramref name="path"/>; a <see cref="ParameterException"/> naming the file, the field and the rule it breaks.</summary>
    public static VerifyConfig Load(string path)
    {
        VerifyConfig config;
        try { config = JsonSerializer.Deserialize<VerifyConfig>(File.ReadAllText(path), Options) ?? throw new JsonException("the file holds null"); }
        catch (JsonException e) { throw new ParameterException("--config", path, $"is not a valid {FileName}: {e.Message}"); }
        catch (IOException e) { throw new ParameterException("--config", path, $"cannot be read: {e.Message}"); }
        void Rule(bool ok, string field, object? value, string rule)
        {
            if (!ok) throw new ParameterException($"{path} {field}", value?.ToString() ?? "null", rule);
        }
        Rule(config.Impl is null || !string.IsNullOrWhiteSpace(config.Impl), "impl", config.Impl, "must not be empty");
        Rule(config.Random is null or >= 0, "random", config.Random, "must be at least 0");
        Rule(config.Timeout is null || double.IsFinite(config.Timeout.Value) && config.Timeout > 0, "timeout", config.Timeout, "must be a finite number of seconds above 0");
        Rule(config.Budget is null || double.IsFinite(config.Budget.Value) && config.Budget > 0, "budget", config.Budget, "must be a finite number of seconds above 0");
        Rule(config.KnownFailures is not null, "known_failures", null, "must be a list of {\"case\": ..., \"reason\": ...}");
        for (int i = 0; i < config.KnownFailures!.Count; i++)
        {
            var k = config.KnownFailures[i];
            Rule(k is not null, $"known_failures[{i}]", null, "must be {\"case\": ..., \"reason\": ...}");
            Rule(!string.IsNullOrWhiteSpace(k!.Case), $"known_failures[{i}].case", k.Case, "must name a case id or a pattern with '*'");
            Rule(!string.IsNullOrWhiteSpace(k.Reason), $"known_failures[{i}].reason", k.Reason, "must say why the case fails (it is shown beside it)");
        }
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (config.Sweep is not null)
        {
            var sweep = Path.GetFullPath(config.Sweep, folder);
            Rule(File.Exists(sweep), "sweep", sweep, "is not an existing file (a relative path is taken from the file's folder)");
            config = config with { Sweep = sweep };
        }
        if (config.Cases is null) return config;
        var cases = Path.GetFullPath(config.Cases, folder);
        Rule(Directory.Exists(cases), "cases", cases, "is not an existing directory (a relative path is taken from the file's folder)");
        return config with { Cases = cases };
    }
}
