// Over ~400 lines on purpose: restarts, timeouts, pipelining and the child's lifetime share one piece of state
// (the process and its pending replies); each rule is only correct together with the others.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using GradOracle.Cases;

namespace GradOracle.Protocol;

/// <summary>
/// An implementation under test: a long-running child process started from the user's command line,
/// spoken to over protocol v1, one request at a time or pipelined. A crash, a hang past the per-request
/// timeout or an unreadable reply is reported for that request, and the process is restarted for the next
/// one; it never takes the run down. The process runs in a session of its own (with util-linux's setsid) and
/// is ended with everything it forked; its stdout lines are read up to a limit, so that no reply can make
/// the client hold more; text it sends that is shown to the user is passed through <see cref="Printable.Escape"/>.
/// </summary>
/// <param name="command">The command line, run by /bin/sh -c.</param>
/// <param name="timeout">How long one request may wait for its response.</param>
/// <param name="maxLineChars">The most characters one stdout line may hold; null: <see cref="Limits.Current"/>'s <see cref="Limits.MaxLineChars"/>.</param>
public sealed class ImplementationClient(string command, TimeSpan timeout, int? maxLineChars = null) : IDisposable
{
    private readonly int lineLimit = maxLineChars is { } m
        ? m > 0 ? m : throw new ArgumentOutOfRangeException(nameof(maxLineChars), m, "must be positive")
        : Limits.Current.MaxLineChars;
    private Child? child;
    private string? restartFailure;
    private readonly StringBuilder stderr = new();
    private long nextId = 1;

    // How long the output must stay quiet after the process has exited before a reply is given up for lost: what
    // was written before the exit is read by then, while a process it forked may hold stdout open for ever.
    private const int ExitGraceMs = 200;

    /// <summary>How many requests <see cref="RunAll"/> keeps unanswered at once: enough to hide the round trip.</summary>
    public const int Window = 32;

    /// <summary>The hello reply of the current process.</summary>
    public HelloResponse? Hello { get; private set; }

    /// <summary>How often the process was restarted after a crash or hang.</summary>
    public int Restarts { get; private set; }

    /// <summary>Everything the implementation wrote to stderr (the last 64 KiB), its line breaks kept and other control characters escaped.</summary>
    public string Stderr { get { lock (stderr) return Printable.Escape(stderr.ToString(), keepLineBreaks: true); } }

    /// <summary>The most characters one response line may hold; a longer one is that request's failure.</summary>
    public int MaxLineChars => lineLimit;

    /// <summary>Starts the process and shakes hands; <see cref="ImplementationUnavailableException"/> when that fails.</summary>
    public HelloResponse Start()
    {
        Stop();
        var shell = new[] { "/bin/sh", "-c", command };
        var psi = ProcessGroup.Setsid is { } setsid ? new ProcessStartInfo(setsid, ["--", .. shell]) : new ProcessStartInfo(shell[0], shell[1..]);
        psi.RedirectStandardInput = psi.RedirectStandardOutput = psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        Process p;
        try { p = Process.Start(psi) ?? throw new ImplementationUnavailableException($"could not start `{command}`"); }
        catch (System.ComponentModel.Win32Exception e) { throw new ImplementationUnavailableException($"could not start `{command}`: {e.Message}"); }
        p.StandardInput.AutoFlush = true;
        var c = new Child(p, ProcessGroup.Setsid is null ? null : p.Id, lineLimit);
        if (c.Group is { } g) ProcessGroup.Track(g);
        child = c;
        // Blocking loops for the process's lifetime, on threads of their own: on the thread pool they would hold
        // back short work (RunAll's writer) until the pool grows, half a second per thread.
        _ = Task.Factory.StartNew(c.Pump, TaskCreationOptions.LongRunning);
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
            catch (Exception e) when (e is IOException or ObjectDisposedException) { }
        }, TaskCreationOptions.LongRunning);

        try { return Hello = Handshake(); }
        catch (ImplementationUnavailableException)
        {
            Stop(); // a process that answered the hello wrongly is not spoken to again
            throw;
        }
    }

    private HelloResponse Handshake()
    {
        var outcome = Exchange(0, Messages.Hello(0));
        if (outcome is Outcome.Failed f)
            throw new ImplementationUnavailableException($"`{command}` did not answer the hello: {f.Reason}{(f.Reason.Contains("its stderr ends") ? "" : StderrHint())}");
        if (((Outcome.Answered)outcome).Response is not HelloResponse hello)
            throw new ImplementationUnavailableException($"`{command}` answered the hello with something else: {((Outcome.Answered)outcome).Response}");
        if (hello.Protocol != Messages.Version)
            throw new ImplementationUnavailableException($"`{command}` speaks protocol {hello.Protocol}; this GradOracle speaks {Messages.Version}");
        if (hello.Dtype is not ("float64" or "float32" or "float16" or "bfloat16"))
            throw new ImplementationUnavailableException($"`{command}` declares dtype \"{hello.Dtype}\"; expected float64, float32, float16 or bfloat16");
        return hello;
    }

    private string StderrHint()
    {
        string s;
        lock (stderr) s = stderr.ToString().Trim();
        return s.Length == 0 ? "" : $"; its stderr ends: {Printable.Escape(s[Math.Max(0, s.Length - 400)..])}";
    }

    /// <summary>Sends one run request (its id is assigned here) and waits for the answer, restarting the process after a failure.</summary>
    public Outcome Run(RunRequest request) => RunAll([request])[0];

    /// <summary>
    /// Sends <paramref name="requests"/> pipelined (ids assigned here): requests are written while responses are
    /// read, at most <see cref="Window"/> of them unanswered, each response checked against its request's id and
    /// awaited for at most the per-request timeout once the one before it has arrived. The outcomes are those
    /// <see cref="Run"/> would give one by one: a crash, hang, garbage or wrong id is that request's failure, the
    /// process is restarted, and the requests after it are sent again to the new process, or with
    /// <paramref name="stopAtFirstFailure"/> reported as not run. A restart that fails (no hello) is the failure
    /// of the request after it, with the reason.
    /// </summary>
    public Outcome[] RunAll(IReadOnlyList<RunRequest> requests, bool stopAtFirstFailure = false)
    {
        var outcomes = new Outcome[requests.Count];
        for (int next = 0; next < requests.Count;)
        {
            int failed;
            if (Ready() is { } down)
            {
                outcomes[next] = down;
                failed = next;
            }
            else
            {
                failed = Pipeline(requests, next, outcomes);
                if (failed == requests.Count) break;
                // The responses still in flight are lost with the process (or out of step with their requests).
                Restart();
            }
            next = failed + 1;
            if (!stopAtFirstFailure) continue;
            for (int k = next; k < requests.Count; k++)
                outcomes[k] = new Outcome.Failed("not run", $"request {failed + 1} of the {requests.Count} in this batch failed first");
            break;
        }
        return outcomes;
    }

    /// <summary>Null when a process is there to answer, restarted if need be; else why not, once for each failed restart.</summary>
    private Outcome.Failed? Ready()
    {
        if (restartFailure is null && child is { Process.HasExited: false }) return null;
        if (restartFailure is null) Restart();
        if (restartFailure is not { } why) return null;
        restartFailure = null;
        return new Outcome.Failed("restart failed", why);
    }

    /// <summary>Runs requests[from..] on the current process; the index of the first that failed, or the count when none did.</summary>
    private int Pipeline(IReadOnlyList<RunRequest> requests, int from, Outcome[] outcomes)
    {
        if (child is not { Process.HasExited: false } c)
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
                    c.Process.StandardInput.WriteLine(Messages.Run(requests[k] with { Id = firstId + k - from }, Hello?.Encoding == "base64" ? Hello.Dtype : null));
                }
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or OperationCanceledException or ObjectDisposedException) { }
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

    /// <summary>Once cancelled, a failed process is not restarted: the run is ending (Ctrl-C), and a new process would only wait for its hello.</summary>
    public CancellationToken Interrupt { get; init; }

    private void Restart()
    {
        if (Interrupt.IsCancellationRequested)
        {
            restartFailure = "the run was interrupted";
            return;
        }
        Restarts++;
        restartFailure = null;
        try { Start(); }
        catch (ImplementationUnavailableException e) { restartFailure = e.Message; }
    }

    private Outcome Exchange(long id, string line)
    {
        try { child!.Process.StandardInput.WriteLine(line); }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            return new Outcome.Failed("crashed", $"could not write the request: the process has exited{ExitCode()}{StderrHint()}");
        }
        return Receive(id, hello: true);
    }

    /// <summary>The next response line, judged as the answer to request <paramref name="id"/>.</summary>
    private Outcome Receive(long id, bool hello = false)
    {
        var c = child!;
        var clock = Stopwatch.StartNew();
        string? reply;
        // In slices, to see the process exit while a process it forked keeps stdout open (no end of output comes).
        while (!c.Lines.TryTake(out reply, Slice(clock)))
        {
            bool exited = c.Process.HasExited;
            if (exited && c.Stdout.QuietFor(ExitGraceMs) && c.Lines.Count == 0 || exited && clock.Elapsed >= timeout)
                return new Outcome.Failed("crashed", $"the process exited{ExitCode()} before answering{StderrHint()}");
            if (clock.Elapsed < timeout) continue;
            Kill();
            return new Outcome.Failed("timeout", $"no response within {timeout.TotalSeconds:0.#} s{(hello ? "" : "; the process was killed and restarted")}");
        }
        if (reply is null)
        {
            c.Process.WaitForExit(2000);
            return new Outcome.Failed("crashed", $"the process exited{ExitCode()} before answering{StderrHint()}");
        }
        if (LineReader.IsTooLong(reply))
            return new Outcome.Failed("garbage", $"a response line longer than {lineLimit:N0} characters, the most one protocol line may hold (--max-line-mb raises it)");
        Response response;
        try { response = Messages.ParseResponse(reply); }
        catch (CaseFormatException e)
        {
            return new Outcome.Failed("garbage", $"unreadable response ({Printable.Escape(e.Message)}): {Printable.Escape(Clip(reply))}{NotProtocolHint(reply)}");
        }
        return response.Id == id
            ? new Outcome.Answered(Shown(response))
            : new Outcome.Failed("wrong id", $"response carries id {response.Id}, the request had {id}");
    }

    private TimeSpan Slice(Stopwatch clock) =>
        TimeSpan.FromTicks(Math.Clamp((timeout - clock.Elapsed).Ticks, TimeSpan.TicksPerMillisecond, 100 * TimeSpan.TicksPerMillisecond));

    /// <summary>For a line that is no attempt at a reply (no JSON object with an id): most often a print meant for a log.</summary>
    private static string NotProtocolHint(string line)
    {
        const string hint = " — log to stderr: stdout carries only protocol replies";
        if (!line.TrimStart().StartsWith('{')) return hint;
        if (line.Length > 65536) return ""; // a reply gone wrong, not worth parsing again
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.TryGetProperty("id", out _) ? "" : hint;
        }
        catch (JsonException) { return ""; } // a broken object, such as a printed dict: a reply gone wrong
    }

    /// <summary>The response with the free text it carries made printable: names, messages, reasons.</summary>
    private static Response Shown(Response r)
    {
        static string E(string s) => Printable.Escape(s);
        switch (r)
        {
            case ErrorResponse e: return e with { Message = E(e.Message) };
            case UnsupportedResponse { Reason: { } why } u: return u with { Reason = E(why) };
            case HelloResponse h:
                var conventions = new Dictionary<string, string>();
                foreach (var (key, value) in h.Conventions) conventions[E(key)] = E(value);
                return h with { Name = E(h.Name), Dtype = E(h.Dtype), Ops = [.. h.Ops.Select(E)], Conventions = conventions };
            default: return r;
        }
    }

    private string ExitCode() => child?.Process is { HasExited: true } p ? $" with code {p.ExitCode}" : "";

    private static string Clip(string s) => s.Length <= 200 ? s : s[..200] + "...";

    private void Kill() => child?.Kill();

    private void Stop()
    {
        if (child is not { } c) return;
        try { c.Process.StandardInput.Close(); } catch (IOException) { }
        c.Process.WaitForExit(1000);
        c.Kill(); // also when it has exited: what it forked may live on
        c.Process.Dispose();
        child = null;
    }

    /// <inheritdoc/>
    public void Dispose() => Stop();

    /// <summary>One started process: its stdout lines, and how it ends.</summary>
    private sealed class Child
    {
        private readonly CancellationTokenSource ended = new();
        private readonly int maxChars;

        public Child(Process process, int? group, int maxChars)
        {
            Process = process;
            Group = group;
            this.maxChars = maxChars;
            Stdout = new WatchedReader(new AvailableTextReader(process.StandardOutput.BaseStream), maxChars, () => Post(LineReader.TooLong));
        }

        public Process Process { get; }

        /// <summary>The process group (and session) the process leads; null without setsid.</summary>
        public int? Group { get; }

        /// <summary>Stdout's lines, <see cref="LineReader.TooLong"/> for a line past the limit, null at its end; one at most, so that a flood waits in the pipe and no more than about three lines (this one, the next being read, the one being parsed) are held.</summary>
        public BlockingCollection<string?> Lines { get; } = new(boundedCapacity: 1);

        public WatchedReader Stdout { get; }

        /// <summary>Reads stdout into <see cref="Lines"/> until its end or <see cref="Kill"/>.</summary>
        public void Pump()
        {
            var reader = new LineReader(Stdout, maxChars);
            try
            {
                while (reader.ReadLine() is { } line)
                    if (!LineReader.IsTooLong(line) || !Stdout.TakeEarlyReport()) Post(line);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException) { }
            finally
            {
                try { Post(null); } catch (OperationCanceledException) { }
            }
        }

        private void Post(string? line) => Lines.Add(line, ended.Token);

        /// <summary>Ends <see cref="Pump"/>, which may be waiting for room in <see cref="Lines"/> that nobody reads now.</summary>
        public void Abandon() => ended.Cancel();

        public void Kill()
        {
            Abandon();
            if (Group is { } g && ProcessGroup.Kill(g)) return;
            // No group to kill: without setsid, or before setsid has made it (or when all of it has gone).
            try { Process.Kill(entireProcessTree: true); }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { }
        }
    }

    /// <summary>
    /// Stdout as <see cref="LineReader"/> reads it, watched: when it last delivered, and a line that has grown past
    /// the limit is posted as too long at once, before its end (which may never come), not after it.
    /// </summary>
    private sealed class WatchedReader(TextReader inner, int maxChars, Action postTooLong) : TextReader
    {
        private long sinceNewline, lastRead = Environment.TickCount64;
        private bool pending;
        private int early;

        public bool QuietFor(int ms) => Environment.TickCount64 - Volatile.Read(ref lastRead) >= ms;

        /// <summary>Whether this too-long line was already posted (then LineReader's report of it is dropped).</summary>
        public bool TakeEarlyReport()
        {
            if (early == 0) return false;
            early--;
            return true;
        }

        public override int Read(char[] buffer, int index, int count)
        {
            // Posted here, when LineReader wants more: the complete lines before it in the last chunk are posted by now.
            if (pending)
            {
                pending = false;
                early++;
                postTooLong();
            }
            int n = inner.Read(buffer, index, count);
            Volatile.Write(ref lastRead, Environment.TickCount64);
            if (n <= 0) return n;
            // Past LineReader's own bound (maxChars + 1 with a '\r'), so that it will report this line too long as well.
            long bound = maxChars + 1L;
            int last = Array.LastIndexOf(buffer, '\n', index + n - 1, n);
            long grown = last < 0 ? sinceNewline + n : index + n - 1 - last;
            pending = grown > bound && (last >= 0 || sinceNewline <= bound);
            sinceNewline = grown;
            return n;
        }

        public override int Read() => throw new NotSupportedException("LineReader reads in blocks");
    }
}
