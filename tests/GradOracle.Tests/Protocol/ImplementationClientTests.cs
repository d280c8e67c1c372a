using System.Diagnostics;
using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Protocol;
using GradOracle.Tensors;
using GradOracle.Tests.Verification;

namespace GradOracle.Tests.Protocol;

/// <summary>ImplementationClient against processes that misbehave on purpose: what each costs, and what the user is told.</summary>
public class ImplementationClientTests
{
    private string scratch = "";

    [SetUp]
    public void MakeScratch() => Directory.CreateDirectory(scratch = Path.Combine(Path.GetTempPath(), $"gradoracle-hostile-{Guid.NewGuid():N}"));

    [TearDown]
    public void RemoveScratch() => Directory.Delete(scratch, recursive: true);

    private static RunRequest Request(string op, int seed, bool backward = false, int size = 6)
    {
        var x = Samples.Distinct(Shape.Of(size), seed);
        return new(0, op, OpAttributes.None, NamedTensors.Input(x), backward ? GradientChecker.RandomGradOutput(x.Shape, seed) : null);
    }

    private static Outcome.Failed Failure(Outcome o) => o as Outcome.Failed ?? throw new AssertionException($"expected a failure, got {o}");

    private static bool Answered(Outcome o) => o is Outcome.Answered { Response: RunResponse };

    /// <summary>Whether the process <paramref name="pid"/> is running: gone, or a zombie waiting to be reaped, is not.</summary>
    private static bool Running(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] is not ('Z' or 'X');
        }
        catch (IOException) { return false; }
    }

    private static bool GoneWithin(int pid, TimeSpan wait)
    {
        var clock = Stopwatch.StartNew();
        while (Running(pid) && clock.Elapsed < wait) Thread.Sleep(20);
        return !Running(pid);
    }

    private static int Pid(string pidfile) => int.Parse(File.ReadAllText(pidfile));

    [TestCase(64 << 20, false)]
    [TestCase(5000, true)]
    public void A_reply_line_past_the_line_limit_is_garbage_at_once_and_is_not_held_in_memory(int chars, bool ended)
    {
        using var client = new ImplementationClient($"{Tools.Misbehave("longline")} --chars {chars}{(ended ? " --end" : "")}", TimeSpan.FromSeconds(10), maxLineChars: 4096);
        client.Start();
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        var failed = Failure(client.Run(Request("sigmoid", 1)));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "reported as the line passes the limit, not at the timeout");
        Assert.That(GC.GetTotalAllocatedBytes(precise: true) - allocated, Is.LessThan(16L << 20), "bytes allocated while 64 Mi characters went by");
        Assert.That(failed.Kind, Is.EqualTo("garbage"));
        Assert.That(failed.Reason, Is.EqualTo("a response line longer than 4,096 characters, the most one protocol line may hold (--max-line-mb raises it)"));
        Assert.That(Answered(client.Run(Request("relu", 2))), "the restarted process answers");
        Assert.That(client.Restarts, Is.EqualTo(1));
    }

    [Test]
    public void Lines_nobody_asked_for_wait_in_the_pipe_and_not_in_memory()
    {
        using var client = new ImplementationClient(Tools.Misbehave("flood"), TimeSpan.FromSeconds(10));
        client.Start();
        // Replies of some 500 000 characters; relu's comes once, sigmoid's 50 times: 100 MB more if all were read ahead.
        long Allocated(string op)
        {
            var request = Request(op, 1, size: 25_000);
            long before = GC.GetTotalAllocatedBytes(precise: true);
            Assert.That(Answered(client.Run(request)), op);
            Thread.Sleep(1000);
            return GC.GetTotalAllocatedBytes(precise: true) - before;
        }
        long once = Allocated("relu");
        Assert.That(Allocated("sigmoid"), Is.LessThan(2 * once), "bytes allocated for a reply sent 50 times, against one sent once");
    }

    [Test, NonParallelizable]
    public void Without_a_line_limit_of_its_own_the_client_takes_the_limit_in_force()
    {
        var before = Limits.Current;
        try
        {
            Limits.Current = before with { MaxLineChars = 12345 };
            using var client = new ImplementationClient("true", TimeSpan.FromSeconds(1));
            Assert.That(client.MaxLineChars, Is.EqualTo(12345));
        }
        finally { Limits.Current = before; }
    }

    [Test]
    public void Disposing_ends_what_the_implementation_forked_that_holds_its_stdout()
    {
        var pidfile = Path.Combine(scratch, "worker.pid");
        var client = new ImplementationClient($"{Tools.Misbehave("error")} --fork-worker {Tools.Quote(pidfile)}", TimeSpan.FromSeconds(2));
        try
        {
            client.Start();
            Assert.That(Answered(client.Run(Request("relu", 1))));
            Assert.That(Running(Pid(pidfile)), "the forked worker runs beside the implementation");
        }
        finally { client.Dispose(); }
        Assert.That(GoneWithin(Pid(pidfile), TimeSpan.FromSeconds(3)), "the forked worker outlived Dispose");
    }

    [Test]
    public void An_implementation_that_exits_while_what_it_forked_holds_stdout_has_crashed_and_has_not_timed_out()
    {
        var pidfile = Path.Combine(scratch, "worker.pid");
        using var client = new ImplementationClient($"{Tools.Misbehave("crash")} --fork-worker {Tools.Quote(pidfile)}", TimeSpan.FromSeconds(5));
        client.Start();
        int first = Pid(pidfile);
        var clock = Stopwatch.StartNew();
        var failed = Failure(client.Run(Request("sigmoid", 1)));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)));
        Assert.That((failed.Kind, failed.Reason), Is.EqualTo(("crashed",
            "the process exited with code 139 before answering; its stderr ends: sigmoid: segmentation fault (simulated)")));
        Assert.That(GoneWithin(first, TimeSpan.FromSeconds(3)), "the restart ended the old process's forked worker");
        Assert.That(Answered(client.Run(Request("relu", 2))));
        Assert.That(client.Restarts, Is.EqualTo(1));
    }

    [Test]
    public void A_restart_that_gets_no_hello_fails_the_next_request_with_the_reason()
    {
        var command = $"{Tools.Misbehave("hello-once")} --state {Tools.Quote(Path.Combine(scratch, "started"))}";
        using var client = new ImplementationClient(command, TimeSpan.FromSeconds(1));
        client.Start();
        Assert.That(Failure(client.Run(Request("sigmoid", 1))).Kind, Is.EqualTo("crashed"));
        var restart = $"`{command}` did not answer the hello: no response within 1 s";
        var next = Failure(client.Run(Request("relu", 2)));
        Assert.That(next.Kind, Is.EqualTo("restart failed"));
        Assert.That(next.Reason, Does.StartWith(restart));
        var outcomes = client.RunAll([Request("relu", 3), Request("relu", 4)], stopAtFirstFailure: true);
        Assert.That(Failure(outcomes[0]).Reason, Does.StartWith(restart), "a batch: it tries again, and says why it failed");
        Assert.That(Failure(outcomes[0]).Kind, Is.EqualTo("restart failed"));
        Assert.That(Failure(outcomes[1]).Kind, Is.EqualTo("not run"));
        Assert.That(client.Restarts, Is.EqualTo(2));
    }

    [TestCase("log", "computing sigmoid — log to stderr: stdout carries only protocol replies")]
    [TestCase("garbage", "this is not json — log to stderr: stdout carries only protocol replies")]
    public void A_line_that_is_no_reply_is_garbage_with_the_hint_to_log_to_stderr(string mode, string end)
    {
        using var client = new ImplementationClient(Tools.Misbehave(mode), TimeSpan.FromSeconds(2));
        client.Start();
        var failed = Failure(client.Run(Request("sigmoid", 1)));
        Assert.That(failed.Kind, Is.EqualTo("garbage"));
        Assert.That(failed.Reason, Does.StartWith("unreadable response (").And.EndWith(end));
    }

    [Test]
    public void A_reply_gone_wrong_is_garbage_without_the_hint()
    {
        using var client = new ImplementationClient(Tools.Misbehave("pydict"), TimeSpan.FromSeconds(2));
        client.Start();
        var failed = Failure(client.Run(Request("sigmoid", 1)));
        Assert.That(failed.Kind, Is.EqualTo("garbage"));
        Assert.That(failed.Reason, Does.Contain(": {'id': 1, 'output': {'shape': [6], 'data': [").And.Not.Contain("log to stderr"));
    }

    [Test]
    public void Control_characters_from_the_implementation_reach_no_reason_or_message_raw()
    {
        using var client = new ImplementationClient(Tools.Misbehave("ansi"), TimeSpan.FromSeconds(2));
        client.Start();
        var error = (client.Run(Request("sigmoid", 1, backward: true)) as Outcome.Answered)?.Response as ErrorResponse;
        Assert.That(error?.Message, Is.EqualTo(@"\u001b[2Jscreen cleared"));
        var garbage = Failure(client.Run(Request("sigmoid", 2)));
        Assert.That(garbage.Reason, Does.EndWith(@": \u001b[31mnot json\u001b[0m — log to stderr: stdout carries only protocol replies"));
        Assert.That(client.Stderr, Does.Contain(@"\u001b[31mred alert\u001b[0m" + "\n"));
        Assert.That(garbage.Reason + error!.Message + client.Stderr.Replace("\n", ""), Has.None.LessThan(' '));
    }

    [TestCase("swap", "rrsrr", 2, "response carries id 4, the request had 3")]
    [TestCase("dup", "rsrr", 2, "response carries id 2, the request had 3")]
    public void Pipelined_answers_out_of_order_or_twice_fail_the_request_they_do_not_answer(string mode, string ops, int wrong, string reason)
    {
        using var client = new ImplementationClient(Tools.Misbehave(mode), TimeSpan.FromSeconds(2));
        client.Start();
        var outcomes = client.RunAll([.. ops.Select((op, k) => Request(op == 's' ? "sigmoid" : "relu", k))]);
        Assert.That(outcomes[wrong], Is.EqualTo(new Outcome.Failed("wrong id", reason)));
        Assert.That(outcomes.Where((_, k) => k != wrong).Select(Answered), Has.All.True, "the others are answered, after a restart");
        Assert.That(client.Restarts, Is.EqualTo(1));
    }

    [Test]
    public void A_request_the_implementation_never_reads_times_out_and_does_not_block_the_writer()
    {
        using var client = new ImplementationClient(Tools.Misbehave("deaf"), TimeSpan.FromSeconds(1));
        client.Start();
        // Some 4 MB of JSON: far more than a pipe holds, so that writing it blocks until the process is killed.
        var run = Task.Run(() => client.Run(Request("relu", 1, size: 200_000)));
        Assert.That(run.Wait(TimeSpan.FromSeconds(10)), "Run returned");
        Assert.That(Failure(run.Result).Kind, Is.EqualTo("timeout"));
    }

    [Test]
    public void Interrupting_verify_ends_the_implementation_and_what_it_forked()
    {
        Tools.RequireSigint();
        var pidfile = Path.Combine(scratch, "worker.pid");
        var impl = $"{Tools.Misbehave("hang")} --fork-worker {Tools.Quote(pidfile)}";
        // Seed 5's first 120 random cases hold sigmoid ones, and a long timeout keeps the run on the first, with the worker the file names.
        using var cli = Process.Start(new ProcessStartInfo("dotnet", ["exec", Tools.CliDll, "verify", "--impl", impl, "--no-reference", "--seed", "5", "--random", "120", "--timeout", "60"])
        { RedirectStandardOutput = true, RedirectStandardError = true })!;
        _ = cli.StandardOutput.ReadToEndAsync();
        _ = cli.StandardError.ReadToEndAsync();
        try
        {
            var clock = Stopwatch.StartNew();
            while (!File.Exists(pidfile) && clock.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(50);
            int worker = Pid(pidfile);
            Thread.Sleep(500);
            Assert.That(Running(worker));
            using (var kill = Process.Start("kill", ["-INT", cli.Id.ToString()])) kill.WaitForExit();
            Assert.That(GoneWithin(worker, TimeSpan.FromSeconds(5)), "the implementation's forked worker outlived the interrupt");
        }
        finally { cli.Kill(entireProcessTree: true); }
    }
}
