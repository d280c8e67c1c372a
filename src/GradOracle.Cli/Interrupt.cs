using System.Runtime.InteropServices;

namespace GradOracle.Cli;

/// <summary>
/// The first Ctrl-C (SIGINT) or SIGTERM of a run cancels <see cref="Token"/> instead of ending the process, so that
/// the cases not yet run are reported as such and the report still comes out; a second one ends the process.
/// </summary>
internal sealed class Interrupt : IDisposable
{
    private readonly CancellationTokenSource source = new();
    private readonly PosixSignalRegistration[] registrations;

    public Interrupt()
    {
        registrations = [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM }.Select(s => PosixSignalRegistration.Create(s, OnSignal))];
    }

    /// <summary>Cancelled at the first signal.</summary>
    public CancellationToken Token => source.Token;

    private void OnSignal(PosixSignalContext context)
    {
        if (source.IsCancellationRequested) return; // the second: the default action ends the process
        context.Cancel = true;
        source.Cancel(); // before anything else: a request the interrupt ends must find the run already cancelled
        Console.Error.WriteLine("interrupted: finishing the report (interrupt again to stop at once)");
    }

    public void Dispose()
    {
        foreach (var r in registrations) r.Dispose();
        source.Dispose();
    }
}
