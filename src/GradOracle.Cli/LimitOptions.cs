using System.CommandLine;

namespace GradOracle.Cli;

/// <summary>--max-elements and --max-line-mb: the process's <see cref="Limits"/>, for the commands that read protocol messages.</summary>
internal sealed class LimitOptions
{
    private readonly Option<int> maxElements = new Option<int>("--max-elements")
    {
        Description = $"Most elements one tensor, op output or message may hold (default {Limits.Default.MaxElements}).",
        DefaultValueFactory = _ => (int)Limits.Default.MaxElements,
    }.Within(1);

    private readonly Option<int> maxLineMb = new Option<int>("--max-line-mb")
    {
        Description = $"Most characters (in Mi) one protocol line may hold (default {Limits.Default.MaxLineChars >> 20}).",
        DefaultValueFactory = _ => Limits.Default.MaxLineChars >> 20,
    }.Within(1, 2047);

    /// <summary>Adds the options to <paramref name="c"/>.</summary>
    public void AddTo(Command c) { c.Add(maxElements); c.Add(maxLineMb); }

    /// <summary>Puts the parsed limits in force for this process.</summary>
    public void Apply(ParseResult p) =>
        Limits.Current = new Limits { MaxElements = p.GetValue(maxElements), MaxLineChars = p.GetValue(maxLineMb) << 20 };
}
