using Spectre.Console;

namespace GradOracle.Cli;

/// <summary>The console the commands write to.</summary>
internal static class Output
{
    /// <summary>Spectre's console; wide and without colour when the output is not a terminal (CI logs, pipes).</summary>
    public static IAnsiConsole Console()
    {
        bool redirected = System.Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = redirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = redirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
        });
        // COLUMNS, when set, is the reader's width, piped or not; a pipe without it gets rows wide enough not to wrap.
        if (int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out var columns) && columns >= 40) console.Profile.Width = columns;
        else if (redirected) console.Profile.Width = 240;
        return console;
    }
}
