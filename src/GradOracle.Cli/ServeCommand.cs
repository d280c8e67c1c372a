using System.CommandLine;
using GradOracle.Protocol;

namespace GradOracle.Cli;

/// <summary>`gradoracle serve`: the oracle's outputs and gradients over protocol v1 on stdin/stdout.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var command = new Command("serve", "Answer protocol v1 requests on stdin/stdout with the oracle's float64 outputs and gradients.");
        var limits = new LimitOptions();
        limits.AddTo(command);
        command.SetAction(p =>
        {
            limits.Apply(p);
            Server.Serve(Console.In, Console.Out);
            return 0;
        });
        return command;
    }
}
