using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace GradOracle.Protocol;

/// <summary>
/// Starting a command as the leader of a session of its own, and ending that session's process group as a
/// whole: what the command forks (a worker holding its stdout, a daemon) ends with it, and with this process.
/// </summary>
internal static class ProcessGroup
{
    private const int SigKill = 9;

    private static readonly ConcurrentDictionary<int, bool> Live = new();

    // Held for the life of the process: a registration that is collected stops handling its signal.
    private static readonly Lazy<PosixSignalRegistration[]> Cleanup = new(() =>
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillLive();
        // The groups are not in the terminal's foreground group, so Ctrl-C no longer reaches them by itself;
        // the handlers do not cancel, so each signal's default action follows.
        return [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGQUIT }
            .Select(s => PosixSignalRegistration.Create(s, _ => KillLive()))];
    });

    /// <summary>util-linux's setsid, when installed: it execs its command in place, in a new session whose id is its pid.</summary>
    public static string? Setsid { get; } =
        OperatingSystem.IsLinux() ? new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists) : null;

    /// <summary>Makes the group <paramref name="pgid"/> end with this process (exit, SIGINT, SIGTERM, SIGHUP, SIGQUIT) unless <see cref="Kill"/> ends it first.</summary>
    public static void Track(int pgid)
    {
        _ = Cleanup.Value;
        Live[pgid] = true;
    }

    /// <summary>SIGKILL to every process of the group <paramref name="pgid"/>; false when there is none left.</summary>
    public static bool Kill(int pgid)
    {
        Live.TryRemove(pgid, out _);
        return pgid > 1 && kill(-pgid, SigKill) == 0;
    }

    private static void KillLive()
    {
        foreach (var g in Live.Keys) Kill(g);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
