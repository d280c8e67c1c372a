using System.CommandLine;
using GradOracle.Cli;

// The gradoracle command: thin over the library.
var root = new RootCommand("GradOracle: a float64 reference oracle and gradient checker for CNN layers.")
{
    CheckCommand.Create(),
    CasesCommand.Create(),
};
return root.Parse(args).Invoke();
