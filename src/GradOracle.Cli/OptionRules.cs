using System.CommandLine;
using System.CommandLine.Parsing;

namespace GradOracle.Cli;

/// <summary>
/// Rules on option values, checked while parsing: a value that breaks one is a usage error (exit 2) that names the
/// option and the rule, before any work starts, instead of a stack trace or a crash after a long run.
/// </summary>
internal static class OptionRules
{
    /// <summary>A number of seconds: finite and above zero.</summary>
    public static Option<double> Seconds(this Option<double> o) => Rule(o, v => double.IsFinite(v) && v > 0 ? null : "must be a finite number of seconds above 0");

    /// <summary>An optional number of seconds: finite and above zero when given.</summary>
    public static Option<double?> Seconds(this Option<double?> o) => Rule(o, v => v is null || double.IsFinite(v.Value) && v > 0 ? null : "must be a finite number of seconds above 0");

    /// <summary>A finite number at or above zero.</summary>
    public static Option<double> NonNegative(this Option<double> o) => Rule(o, v => double.IsFinite(v) && v >= 0 ? null : "must be a finite number at or above 0");

    /// <summary>An integer within [min, max].</summary>
    public static Option<int> Within(this Option<int> o, int min, int max = int.MaxValue) =>
        Rule(o, v => v >= min && v <= max ? null : max == int.MaxValue ? $"must be at least {min}" : $"must be between {min} and {max}");

    /// <summary>A non-empty, non-blank text.</summary>
    public static Option<string> NotBlank(this Option<string> o) => Rule(o, v => string.IsNullOrWhiteSpace(v) ? "must not be empty" : null);

    /// <summary>A file the command will write: its folder exists and is writable, and it is not itself a folder.</summary>
    public static Option<string?> WritableFile(this Option<string?> o) => Rule(o, v =>
    {
        if (v is null) return null;
        if (v.Length == 0) return "must name a file";
        if (Directory.Exists(v)) return "is a directory; it must name a file to write";
        var dir = Path.GetDirectoryName(Path.GetFullPath(v))!;
        return Directory.Exists(dir) ? Writable(dir) : $"names a file in {dir}, which does not exist";
    });

    /// <summary>A folder the command will write into (created if missing): not a file, and its parent exists.</summary>
    public static Option<string?> WritableFolder(this Option<string?> o) => Rule(o, v =>
    {
        if (v is null) return null;
        if (v.Length == 0) return "must name a directory";
        if (File.Exists(v)) return "is a file; it must name a directory";
        if (Directory.Exists(v)) return Writable(v);
        var parent = Path.GetDirectoryName(Path.GetFullPath(v))!;
        return Directory.Exists(parent) ? Writable(parent) : $"names a directory in {parent}, which does not exist";
    });

    /// <summary>A folder the command reads: it exists.</summary>
    public static Option<string?> ExistingFolder(this Option<string?> o) =>
        Rule(o, v => v is null || Directory.Exists(v) ? null : "is not an existing directory");

    /// <summary>A file the command reads: it exists.</summary>
    public static Option<string?> ExistingFile(this Option<string?> o) =>
        Rule(o, v => v is null || File.Exists(v) ? null : "is not an existing file");

    private static string? Writable(string dir)
    {
        var probe = Path.Combine(dir, $".gradoracle-write-check-{Environment.ProcessId}");
        try { File.WriteAllText(probe, ""); File.Delete(probe); return null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return $"cannot be written: {dir} refuses a file ({e.Message})"; }
    }

    private static Option<T> Rule<T>(Option<T> o, Func<T, string?> problem)
    {
        o.Validators.Add(r =>
        {
            T value;
            try { value = r.GetValueOrDefault<T>(); }
            catch (InvalidOperationException) { return; } // not parsable: the parser already reports it
            if (problem(value) is { } why) r.AddError($"{o.Name} {Shown(r)}: {why}");
        });
        return o;
    }

    private static string Shown(OptionResult r) => r.Tokens.Count == 0 ? "(default)" : string.Join(" ", r.Tokens.Select(t => t.Value));
}
