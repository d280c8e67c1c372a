using System.CommandLine;
using GradOracle.Cli;

// The gradoracle command: thin over the library.
var root = new RootCommand("GradOracle: a float64 reference oracle and gradient checker for CNN layers.")
{
    CheckCommand.Create(),
    CasesCommand.Create(),
    ServeCommand.Create(),
};
foreach (var c in VerifyCommand.Create()) root.Add(c);
var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    // Bad usage is exit code 2 (1 means a verification found failures).
    foreach (var e in parse.Errors) Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine("see gradoracle --help");
    return 2;
}
return parse.Invoke();
