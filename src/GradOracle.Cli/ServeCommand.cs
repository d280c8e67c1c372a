using System.CommandLine;
using GradOracle.Protocol;
using GradOracle.Torch;

namespace GradOracle.Cli;

/// <summary>`gradoracle serve`: the oracle's (or libtorch's) outputs and gradients over protocol v1 on stdin/stdout.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var engine = new Option<string>("--engine")
        {
            Description = "Whose values to answer with: 'oracle' (GradOracle's float64 reference) or 'libtorch' (libtorch's own, to verify it as an implementation).",
            DefaultValueFactory = _ => "oracle",
        };
        engine.AcceptOnlyFromAmong("oracle", "libtorch");
        var encoding = new Option<string>("--encoding")
        {
            Description = "Tensor encoding to use when the client's hello offers it: 'base64' (little-endian binary) or 'json' (numbers, always understood).",
            DefaultValueFactory = _ => "base64",
        };
        encoding.AcceptOnlyFromAmong([.. Messages.Encodings]);
        var command = new Command("serve", "Answer protocol v1 requests on stdin/stdout with float64 outputs and gradients: the oracle's, or libtorch's with --engine libtorch.")
        {
            engine,
            encoding,
        };
        var limits = new LimitOptions();
        limits.AddTo(command);
        command.SetAction(p =>
        {
            limits.Apply(p);
            IServeEngine answering = OracleEngine.Instance;
            if (p.GetValue(engine) == "libtorch")
            {
                if (TorchEngine.IfAvailable(out var whyNot) is not { } torch)
                {
                    Console.Error.WriteLine($"--engine libtorch: {whyNot}");
                    return 3;
                }
                // Stdout is the protocol's: what loading took goes to stderr, once.
                Console.Error.WriteLine(TorchBridge.Availability.Message);
                answering = torch;
            }
            // Not Console.In: its StreamReader can hold complete requests while it waits to fill a larger buffer.
            Server.Serve(new AvailableTextReader(Console.OpenStandardInput()), Console.Out, answering, p.GetValue(encoding)!);
            return 0;
        });
        return command;
    }
}
