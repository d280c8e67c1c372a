using System.Runtime.InteropServices;
using System.Text;

namespace GradOracle.Torch;

/// <summary>
/// Collects what native code writes to file descriptor 2 during a call. libtorch prints its warnings there
/// and TorchSharp offers no warning handler, so for the length of one libtorch call stderr is pointed at an
/// anonymous in-memory file. Process-wide: callers hold <see cref="TorchBridge"/>'s lock. Linux only; elsewhere
/// warnings stay on stderr.
/// </summary>
internal sealed partial class StandardErrorCapture : IDisposable
{
    private static int memoryFile = -1;
    private readonly int saved = -1;

    private StandardErrorCapture(int saved) => this.saved = saved;

    /// <summary>Starts capturing (a no-op where it is not supported).</summary>
    public static StandardErrorCapture Start()
    {
        if (!OperatingSystem.IsLinux()) return new StandardErrorCapture(-1);
        if (memoryFile < 0) memoryFile = MemfdCreate("gradoracle-torch-stderr", 0);
        if (memoryFile < 0 || Ftruncate(memoryFile, 0) != 0 || Lseek(memoryFile, 0, 0) < 0) return new StandardErrorCapture(-1);
        int saved = Dup(2);
        if (saved < 0) return new StandardErrorCapture(-1);
        if (Dup2(memoryFile, 2) < 0) { Close(saved); return new StandardErrorCapture(-1); }
        return new StandardErrorCapture(saved);
    }

    /// <summary>Restores stderr and returns what was written meanwhile, or null if nothing was.</summary>
    public unsafe string? Finish()
    {
        if (saved < 0) return null;
        Restore();
        long length = Lseek(memoryFile, 0, 1);
        if (length <= 0) return null;
        var buffer = new byte[Math.Min(length, 1 << 20)];
        fixed (byte* p = buffer)
        {
            long read = Pread(memoryFile, p, buffer.Length, 0);
            return read <= 0 ? null : Encoding.UTF8.GetString(buffer, 0, (int)read).TrimEnd();
        }
    }

    private bool restored;

    private void Restore()
    {
        if (restored || saved < 0) return;
        restored = true;
        Dup2(saved, 2);
        Close(saved);
    }

    /// <inheritdoc/>
    public void Dispose() => Restore();

    [LibraryImport("libc", EntryPoint = "memfd_create", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MemfdCreate(string name, uint flags);

    [LibraryImport("libc", EntryPoint = "dup")]
    private static partial int Dup(int fd);

    [LibraryImport("libc", EntryPoint = "dup2")]
    private static partial int Dup2(int from, int to);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "ftruncate")]
    private static partial int Ftruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "lseek")]
    private static partial long Lseek(int fd, long offset, int whence);

    [LibraryImport("libc", EntryPoint = "pread")]
    private static unsafe partial long Pread(int fd, byte* buffer, long count, long offset);
}
