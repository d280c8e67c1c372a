using System.Reflection;
using System.Runtime.InteropServices;

namespace GradOracle.Torch;

/// <summary>The C ABI of native/gradoracle_torch.h.</summary>
internal static partial class TorchNative
{
    public const string Library = "gradoracle_torch";
    public const string FileName = "libgradoracle_torch.so";

    static TorchNative() => NativeLibrary.SetDllImportResolver(typeof(TorchNative).Assembly, Resolve);

    /// <summary>Where the bridge library was looked for, for the "unavailable" message.</summary>
    public static IReadOnlyList<string> Candidates()
    {
        var list = new List<string>();
        if (Environment.GetEnvironmentVariable("GRADORACLE_TORCH_LIB") is { Length: > 0 } env) list.Add(env);
        list.Add(Path.Combine(AppContext.BaseDirectory, FileName));
        // From a checkout: walk up from the binaries to the repository's native build directory.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            list.Add(Path.Combine(dir.FullName, "src", "GradOracle.Torch", "native", "build", FileName));
        return list;
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != Library) return IntPtr.Zero;
        foreach (var candidate in Candidates())
            if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out var handle)) return handle;
        return IntPtr.Zero;
    }

    [LibraryImport(Library, EntryPoint = "go_torch_version")]
    public static partial IntPtr Version();

    [LibraryImport(Library, EntryPoint = "go_run", StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial IntPtr Run(string op, string attrs, int count, IntPtr* names, double** data, int* ranks, long** shapes,
        double* gradOutput, int gradRank, long* gradShape);

    [LibraryImport(Library, EntryPoint = "go_result_error")]
    public static partial IntPtr ResultError(IntPtr result);

    [LibraryImport(Library, EntryPoint = "go_result_warnings")]
    public static partial IntPtr ResultWarnings(IntPtr result);

    [LibraryImport(Library, EntryPoint = "go_result_count")]
    public static partial int ResultCount(IntPtr result);

    [LibraryImport(Library, EntryPoint = "go_result_name")]
    public static partial IntPtr ResultName(IntPtr result, int i);

    [LibraryImport(Library, EntryPoint = "go_result_rank")]
    public static partial int ResultRank(IntPtr result, int i);

    [LibraryImport(Library, EntryPoint = "go_result_shape")]
    public static unsafe partial void ResultShape(IntPtr result, int i, long* dims);

    [LibraryImport(Library, EntryPoint = "go_result_numel")]
    public static partial long ResultNumel(IntPtr result, int i);

    [LibraryImport(Library, EntryPoint = "go_result_copy")]
    public static unsafe partial void ResultCopy(IntPtr result, int i, double* output);

    [LibraryImport(Library, EntryPoint = "go_result_free")]
    public static partial void ResultFree(IntPtr result);
}
