using System.Collections.Immutable;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace GradOracle.Torch;

/// <summary>What loading libtorch took: where TorchSharp's native library came from and what was weakened in it.</summary>
/// <param name="LibTorchSharp">The file loaded: the package's own, or the patched copy.</param>
/// <param name="Weakened">The symbol versions made weak in the copy; empty when the package's file loaded as it is.</param>
/// <param name="Handle">The loaded libLibTorchSharp, for the entry points TorchSharp's C# side calls wrongly.</param>
internal sealed record NativeLoad(string? LibTorchSharp, ImmutableArray<string> Weakened, IntPtr Handle);

/// <summary>
/// Loads libtorch and TorchSharp's native library (libLibTorchSharp.so) by full path before TorchSharp
/// initialises. The package's libLibTorchSharp.so is built with GCC 13 and requires GLIBCXX_3.4.32 for one
/// symbol, <c>std::ios_base_library_init()</c>: a marker that GCC 13's &lt;iostream&gt; references so that a
/// program links against a new enough libstdc++, and that nothing calls. Where the loaded libstdc++ lacks
/// that version (GCC 12's stops at 3.4.30), a copy with the requirement made weak is loaded instead; the
/// package's files are never changed. See docs/libtorch.md.
/// </summary>
internal static class TorchSharpLoader
{
    /// <summary>The only symbols a missing version may be weakened for: markers that carry no code anyone calls.</summary>
    public static readonly ImmutableHashSet<string> MarkerSymbols = ["_ZSt21ios_base_library_initv"];

    private const string LibTorchSharp = "libLibTorchSharp.so";

    /// <summary>libtorch's own libraries, each depending only on the ones before it.</summary>
    private static readonly string[] LibTorch = ["libc10.so", "libtorch_cpu.so", "libtorch.so"];

    /// <summary>Loads the native libraries; on other systems than Linux TorchSharp's own loading is left to work.</summary>
    public static NativeLoad Load()
    {
        if (!OperatingSystem.IsLinux()) return new NativeLoad(null, [], NativeLibrary.Load("LibTorchSharp", typeof(TorchSharp.torch).Assembly, null));
        var folder = NativeFolder();
        Reproducible();
        var handles = LibTorch.Select(lib => NativeLibrary.Load(Path.Combine(folder, lib))).ToArray();
        WarnAlways(handles[0]);
        var original = Path.Combine(folder, LibTorchSharp);
        var bytes = File.ReadAllBytes(original);
        var needs = ElfSymbolVersions.Needs(bytes);
        var missing = Missing(needs, LoadedLibraryVersions([.. needs.Select(n => n.File)]));
        if (missing.IsEmpty) return new NativeLoad(original, [], NativeLibrary.Load(original));
        var copy = WriteCopy(bytes, ElfSymbolVersions.Weaken(bytes, missing));
        return new NativeLoad(copy, [.. missing.Select(m => m.Version)], NativeLibrary.Load(copy));
    }

    /// <summary>
    /// MKL (inside libtorch_cpu; its matrix products serve linear and convolution) picks kernels by CPU and by
    /// the alignment of each buffer, so the last bits of a product varied from run to run. Its conditional
    /// numerical reproducibility mode COMPATIBLE gives the same bits on every run (and, by MKL's documentation, on
    /// every x86-64 CPU). MKL reads it from the process environment when it starts, so it is set there (setenv,
    /// not .NET's own copy) before libtorch loads; a value the user set is kept.
    /// </summary>
    private static void Reproducible()
    {
        if (Environment.GetEnvironmentVariable("MKL_CBWR") is null) Setenv("MKL_CBWR", "COMPATIBLE", 0);
    }

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int Setenv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);

    /// <summary>
    /// Makes libtorch report every warning on every call, not only a warning's first occurrence in the process
    /// (torch.set_warn_always, which TorchSharp lacks): each answer's warnings are its own. The function is
    /// c10::WarningUtils::set_warnAlways(bool), exported by libc10 under its C++ name.
    /// </summary>
    private static unsafe void WarnAlways(IntPtr c10)
    {
        if (NativeLibrary.TryGetExport(c10, "_ZN3c1012WarningUtils14set_warnAlwaysEb", out var set))
            ((delegate* unmanaged<byte, void>)set)(1);
    }

    /// <summary>
    /// The requirements the loaded libraries lack. Each must bind only marker symbols, or weakening it would
    /// hide a function that is really missing: that is refused, naming the symbols.
    /// </summary>
    public static ImmutableArray<VersionNeed> Missing(IEnumerable<VersionNeed> needs, IReadOnlyDictionary<string, ImmutableHashSet<string>> loaded)
    {
        var missing = needs.Where(n => !n.Weak && loaded.TryGetValue(n.File, out var defined) && !defined.Contains(n.Version)).ToImmutableArray();
        foreach (var n in missing)
            if (n.Symbols.Any(s => !MarkerSymbols.Contains(s)))
                throw new NotSupportedException(
                    $"{LibTorchSharp} needs {n.Version} from {n.File} for {string.Join(", ", n.Symbols.Where(s => !MarkerSymbols.Contains(s)))}, " +
                    $"which the loaded {n.File} lacks; a newer {n.File} (GCC 13 or later) is required");
        return missing;
    }

    /// <summary>The version definitions of the mapped shared libraries among <paramref name="wanted"/>, by soname-like file name (libstdc++.so.6).</summary>
    private static Dictionary<string, ImmutableHashSet<string>> LoadedLibraryVersions(HashSet<string> wanted)
    {
        var result = new Dictionary<string, ImmutableHashSet<string>>();
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            int slash = line.IndexOf('/');
            if (slash < 0) continue;
            var path = line[slash..];
            var name = Path.GetFileName(path);
            int so = name.IndexOf(".so.", StringComparison.Ordinal);
            if (so < 0) continue;
            // libstdc++.so.6.0.30 is needed as libstdc++.so.6: the name up to the first number after ".so.".
            int end = name.IndexOf('.', so + 4);
            var key = end < 0 ? name : name[..end];
            if (!wanted.Contains(key) || result.ContainsKey(key) || !File.Exists(path)) continue;
            try { result[key] = ElfSymbolVersions.Definitions(File.ReadAllBytes(path)); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException) { }
        }
        return result;
    }

    private static string NativeFolder()
    {
        // A framework-dependent build keeps the package layout; a self-contained publish puts the files beside the binaries.
        foreach (var folder in new[] { Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native"), AppContext.BaseDirectory })
            if (File.Exists(Path.Combine(folder, LibTorchSharp)) && File.Exists(Path.Combine(folder, LibTorch[1]))) return folder;
        throw new DllNotFoundException($"{LibTorchSharp} and {LibTorch[1]} are not in {AppContext.BaseDirectory}runtimes/linux-x64/native: " +
                                       "the TorchSharp-cpu package was not restored with this build");
    }

    /// <summary>The patched copy, under the user's cache (keyed by the original's hash), written to a temporary name and renamed.</summary>
    private static string WriteCopy(byte[] original, byte[] patched)
    {
        var key = Convert.ToHexStringLower(SHA256.HashData(original))[..16];
        Exception? last = null;
        foreach (var root in CacheRoots())
        {
            try
            {
                var folder = Path.Combine(root, "gradoracle", $"libtorchsharp-{key}");
                var path = Path.Combine(folder, LibTorchSharp);
                if (File.Exists(path) && File.ReadAllBytes(path).AsSpan().SequenceEqual(patched)) return path;
                Directory.CreateDirectory(folder);
                var temporary = $"{path}.{Environment.ProcessId}.tmp";
                File.WriteAllBytes(temporary, patched);
                File.Move(temporary, path, overwrite: true);
                return path;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { last = e; }
        }
        throw new IOException($"no writable folder for the patched copy of {LibTorchSharp} ({last?.Message})", last);
    }

    private static IEnumerable<string> CacheRoots()
    {
        if (Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg) yield return xdg;
        if (Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) is { Length: > 0 } home) yield return Path.Combine(home, ".cache");
        yield return Path.GetTempPath();
    }
}
