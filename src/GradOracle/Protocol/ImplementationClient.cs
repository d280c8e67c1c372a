using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using GradOracle.Cases;

namespace GradOracle.Protocol;

/// <summary>What became of one request.</summary>
public abstract record Outcome
{
    /// <summary>A well-formed response with the request's id.</summary>
    public sealed record Answered(Response Response) : Outcome;

    /// <summary>No usable response: crashed, hung, garbage, wrong id.</summary>
    public sealed record Failed(string Kind, string Reason) : Outcome;
}

/// <summary>The implementation could not be run at all (exit code 3 of verify).</summary>
public sealed class ImplementationUnavailableException(string message) : Exception(message);

/// <summary>
/// An implementation under test: a long-running child process started from the user's command line,
/// spoken to over protocol v1, one request at a time or pipelined. A crash, a hang past the per-request
/// timeout or an unreadable reply is reported for that request, and the process is restarted for the next
/// one; it never takes the run down.
/// </summary>
public sealed class ImplementationClient(string command, TimeSpan timeout) : IDisposable
{
    private Process? process;
    private BlockingCollection<string?>? lines;
    private readonly StringBuilder stderr = new();
    private long nextId = 1;

    /// <summary>How many requests <see cref="RunAll"/> keeps unanswered at once: enough to hide the round trip.</summary>
    public const int Window = 32;

    /// <summary>The hello reply of the current process.</summary>
    public HelloResponse? Hello { get; private set; }

    /// <summary>How often the process was restarted after a crash or hang.</summary>
    public int Restarts { get; private set; }

    /// <summary>Everything the implementation wrote to stderr (the last 64 KiB).</summary>
    public string Stderr { get { lock (stderr) return stderr.ToString(); } }

    /// <summary>Starts the process and shakes hands; <see cref="ImplementationUnavailableException"/> when that fails.</summary>
    public HelloResponse Start()
    {
        Stop();
        var psi = new ProcessStartInfo("/bin/sh", ["-c", command])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            UseShellExecute = false, StandardOutputEncoding = Encoding.UTF8,
        };
        try { process = Process.Start(psi) ?? throw new ImplementationUnavailableException($"could not start `{command}`"); }
        catch (System.ComponentModel.Win32Exception e) { throw new ImplementationUnavailableException($"could not start `{command}`: {e.Message}"); }
        process.StandardInput.AutoFlush = true;
        var queue = new BlockingCollection<string?>();
        lines = queue;
        var p = process;
        // Blocking loops for the process's lifetime, on threads of their own: on the thread pool they would hold
        // back short work (RunAll's writer) until the pool grows, half a second per thread.
        _ = Task.Factory.StartNew(() =>
        {
            try { while (p.StandardOutput.ReadLine() is { } l) queue.Add(l); }
            catch (IOException) { }
            finally { queue.Add(null); } // end of output: the process is gone
        }, TaskCreationOptions.LongRunning);
        _ = Task.Factory.StartNew(() =>
        {
            var buffer = new char[4096];
            try
            {
                int n;
                while ((n = p.StandardError.Read(buffer, 0, buffer.Length)) > 0)
                    lock (stderr)
                    {
                        stderr.Append(buffer, 0, n);
                        if (stderr.Length > 65536) stderr.Remove(0, stderr.Length - 65536);
                    }
            }
            catch (IOException) { }
        }, TaskCreationOptions.LongRunning);

        var outcome = Exchange(0, Messages.Hello(0));
        if (outcome is Outcome.Failed f)
            throw new ImplementationUnavailableException($"`{command}` did not answer the hello: {f.Reason}{(f.Reason.Contains("its stderr ends") ? "" : StderrHint())}");
        if (((Outcome.Answered)outcome).Response is not HelloResponse hello)
            throw new ImplementationUnavailableException($"`{command}` answered the hello with something else: {((Outcome.Answered)outcome).Response}");
        if (hello.Protocol != Messages.Version)
            throw new ImplementationUnavailableException($"`{command}` speaks protocol {hello.Protocol}; this GradOracle speaks {Messages.Version}");
        if (hello.Dtype is not ("float64" or "float32" or "float16" or "bfloat16"))
            throw new ImplementationUnavailableException($"`{command}` declares dtype \"{hello.Dtype}\"; expected float64, float32, float16 or bfloat16");
        Hello = hello;
        return hello;
    }

    private string StderrHint()
    {
        var s = Stderr.Trim();
        return s.Length == 0 ? "" : $"; its stderr ends: {s[Math.Max(0, s.Length - 400)..]}";
    }

    /// <summary>Sends one run request (its id is assigned here) and waits for the answer, restarting the process after a failure.</summary>
    public Outcome Run(RunRequest request)
    {
        if (process is null || process.HasExited) Restart();
        long id = nextId++;
        var outcome = Exchange(id, Messages.Run(request with { Id = id }));
        if (outcome is Outcome.Failed) Restart();
        return outcome;
    }

    /// <summary>
    /// Sends <paramref name="requests"/> pipelined (ids assigned here): requests are written while responses are
    /// read, at most <see cref="Window"/> of them unanswered, each response checked against its request's id and
    /// awaited for at most the per-request timeout once the one before it has arrived. The outcomes are those
    /// <see cref="Run"/> would give one by one: a crash, hang, garbage or wrong id is that request's failure, the
    /// process is restarted, and the requests after it are sent again to the new process, or with
    /// <paramref name="stopAtFirstFailure"/> reported as not run.
    /// </summary>
    public Outcome[] RunAll(IReadOnlyList<RunRequest> requests, bool stopAtFirstFailure = false)
    {
        var outcomes = new Outcome[requests.Count];
        for (int next = 0; next < requests.Count;)
        {
            if (process is null || process.HasExited) Restart();
            int failed = Pipeline(requests, next, outcomes);
            if (failed == requests.Count) break;
            // The responses still in flight are lost with the process (or out of step with their requests).
            Restart();
            next = failed + 1;
            if (!stopAtFirstFailure) continue;
            for (int k = next; k < requests.Count; k++)
                outcomes[k] = new Outcome.Failed("not run", $"request {failed + 1} of the {requests.Count} in this batch failed first");
            break;
        }
        return outcomes;
    }

    /// <summary>Runs requests[from..] on the current process; the index of the first that failed, or the count when none did.</summary>
    private int Pipeline(IReadOnlyList<RunRequest> requests, int from, Outcome[] outcomes)
    {
        if (process is not { HasExited: false } p)
        {
            outcomes[from] = new Outcome.Failed("crashed", $"could not write the request: the process has exited{ExitCode()}{StderrHint()}");
            return from;
        }
        long firstId = nextId;
        nextId += requests.Count - from;
        using var window = new SemaphoreSlim(Window);
        using var abandon = new CancellationTokenSource();
        // Writes on their own thread, so that a child that stops reading (hung) cannot block the timeout; a
        // failed write shows on the reading side as the end of the output or a timeout.
        var writer = Task.Run(() =>
        {
            try
            {
                for (int k = from; k < requests.Count; k++)
                {
                    window.Wait(abandon.Token);
                    p.StandardInput.WriteLine(Messages.Run(requests[k] with { Id = firstId + k - from }));
                }
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or OperationCanceledException) { }
        });
        int k = from;
        for (; k < requests.Count; k++)
        {
            outcomes[k] = Receive(firstId + k - from);
            if (outcomes[k] is Outcome.Failed) break;
            window.Release();
        }
        if (k < requests.Count)
        {
            abandon.Cancel();
            Kill(); // a write blocked on a full pipe ends with the process, which is restarted anyway
        }
        writer.Wait();
        return k;
    }

    private void Restart()
    {
        Restarts++;
        try { Start(); }
        catch (ImplementationUnavailableException) { /* the next request reports it */ }
    }

    private Outcome Exchange(long id, string line)
    {
        try { process!.StandardInput.WriteLine(line); }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            return new Outcome.Failed("crashed", $"could not write the request: the process has exited{ExitCode()}{StderrHint()}");
        }
        return Receive(id);
    }

    /// <summary>The next response line, judged as the answer to request <paramref name="id"/>.</summary>
    private Outcome Receive(long id)
    {
        if (!lines!.TryTake(out var reply, timeout))
        {
            Kill();
            return new Outcome.Failed("timeout", $"no response within {timeout.TotalSeconds:0.#} s; the process was killed and restarted");
        }
        if (reply is null)
        {
            process!.WaitForExit(2000);
            return new Outcome.Failed("crashed", $"the process exited{ExitCode()} before answering{StderrHint()}");
        }
        Response response;
        try { response = Messages.ParseResponse(reply); }
        catch (CaseFormatException e)
        {
            return new Outcome.Failed("garbage", $"unreadable response ({e.Message}): {Clip(reply)}");
        }
        return response.Id == id
            ? new Outcome.Answered(response)
            : new Outcome.Failed("wrong id", $"response carries id {response.Id}, the request had {id}");
    }

    private string ExitCode() => process is { HasExited: true } p ? $" with code {p.ExitCode}" : "";

    private static string Clip(string s) => s.Length <= 200 ? s : s[..200] + "...";

    private void Kill()
    {
        try { process?.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
    }

    private void Stop()
    {
        if (process is null) return;
        try { process.StandardInput.Close(); } catch (IOException) { }
        if (!process.WaitForExit(1000)) Kill();
        process.Dispose();
        process = null;
    }

    /// <inheritdoc/>
    public void Dispose() => Stop();
}
