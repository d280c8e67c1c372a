using System.Globalization;
using System.Runtime.InteropServices;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Torch;

/// <summary>Whether the libtorch bridge can be used, and if not why and how to install it.</summary>
/// <param name="IsAvailable">The bridge loaded and answered.</param>
/// <param name="Version">libtorch's version when available.</param>
/// <param name="Message">Why it is unavailable, with the command that installs it; or which version answered.</param>
public sealed record TorchAvailability(bool IsAvailable, string? Version, string Message);

/// <summary>What libtorch returned for one call: named tensors (output, grad.&lt;input&gt;, indices) or an error, and any warnings it gave.</summary>
public sealed record TorchAnswer(NamedTensors Tensors, string? Error, string? Warnings = null)
{
    /// <summary>The forward output.</summary>
    public Tensor Output => Tensors["output"];
}

/// <summary>Calls into libtorch through the native bridge (src/GradOracle.Torch/native).</summary>
public static class TorchBridge
{
    /// <summary>The command that installs libtorch and builds the bridge.</summary>
    public const string InstallCommand = "bash tools/install-torch.sh";

    private static readonly Lazy<TorchAvailability> availability = new(Probe);

    /// <summary>Whether the bridge is usable (probed once).</summary>
    public static TorchAvailability Availability => availability.Value;

    private static TorchAvailability Probe()
    {
        if (Environment.GetEnvironmentVariable("GRADORACLE_NO_TORCH") == "1")
            return new TorchAvailability(false, null, $"libtorch bridge disabled by GRADORACLE_NO_TORCH=1; unset it, and install with `{InstallCommand}` if needed");
        try
        {
            var version = Marshal.PtrToStringUTF8(TorchNative.Version()) ?? "?";
            return new TorchAvailability(true, version, $"libtorch {version}");
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return new TorchAvailability(false, null,
                $"libtorch bridge unavailable ({e.GetType().Name}: {FirstLine(e.Message)}); install it with `{InstallCommand}` " +
                $"(looked for {TorchNative.FileName} in {string.Join(", ", TorchNative.Candidates().Take(3))}, ...)");
        }
    }

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();

    /// <summary>
    /// Runs <paramref name="op"/> (torch.nn.functional name) in libtorch; with <paramref name="gradOutput"/>,
    /// also its backward. Never throws for libtorch's own errors: they come back in <see cref="TorchAnswer.Error"/>.
    /// </summary>
    public static unsafe TorchAnswer Run(string op, OpAttributes attrs, NamedTensors inputs, Tensor? gradOutput)
    {
        if (!Availability.IsAvailable) throw new InvalidOperationException(Availability.Message);
        var items = inputs.Items.ToArray();
        var handles = new List<GCHandle>();
        var names = new IntPtr[items.Length];
        try
        {
            var data = new double*[items.Length];
            var shapes = new long*[items.Length];
            var ranks = new int[items.Length];
            for (int i = 0; i < items.Length; i++)
            {
                names[i] = Marshal.StringToCoTaskMemUTF8(items[i].Name);
                data[i] = (double*)Pin(handles, items[i].Value.ToArray());
                shapes[i] = (long*)Pin(handles, items[i].Value.Shape.Dimensions.Select(d => (long)d).ToArray());
                ranks[i] = items[i].Value.Shape.Rank;
            }
            double* dy = gradOutput is null ? null : (double*)Pin(handles, gradOutput.ToArray());
            long* dyShape = gradOutput is null ? null : (long*)Pin(handles, gradOutput.Shape.Dimensions.Select(d => (long)d).ToArray());
            IntPtr result;
            fixed (IntPtr* n = names)
            fixed (double** d = data)
            fixed (int* r = ranks)
            fixed (long** s = shapes)
                result = TorchNative.Run(op, Serialize(attrs), items.Length, n, d, r, s, dy, gradOutput?.Shape.Rank ?? 0, dyShape);
            try { return Read(result); }
            finally { TorchNative.ResultFree(result); }
        }
        finally
        {
            foreach (var h in handles) h.Free();
            foreach (var n in names) Marshal.FreeCoTaskMem(n);
        }
    }

    private static IntPtr Pin(List<GCHandle> handles, Array array)
    {
        var h = GCHandle.Alloc(array, GCHandleType.Pinned);
        handles.Add(h);
        return h.AddrOfPinnedObject();
    }

    private static unsafe TorchAnswer Read(IntPtr result)
    {
        var error = Marshal.PtrToStringUTF8(TorchNative.ResultError(result));
        var warnings = Marshal.PtrToStringUTF8(TorchNative.ResultWarnings(result))?.TrimEnd();
        if (error is not null) return new TorchAnswer(new NamedTensors(), error, warnings);
        int count = TorchNative.ResultCount(result);
        var tensors = new (string, Tensor)[count];
        for (int i = 0; i < count; i++)
        {
            var dims = new long[TorchNative.ResultRank(result, i)];
            fixed (long* p = dims) TorchNative.ResultShape(result, i, p);
            var values = new double[TorchNative.ResultNumel(result, i)];
            fixed (double* p = values) TorchNative.ResultCopy(result, i, p);
            tensors[i] = (Marshal.PtrToStringUTF8(TorchNative.ResultName(result, i))!, Tensor.FromArray(Shape.Of(dims.Select(d => (int)d).ToArray()), values));
        }
        return new TorchAnswer(new NamedTensors(tensors), null, warnings);
    }

    /// <summary>"name=value;..." as the shim reads it: int lists "2,3", booleans 0/1, doubles round-trip.</summary>
    internal static string Serialize(OpAttributes attrs) => string.Join(";", attrs.Select(a => $"{a.Key}={a.Value switch
    {
        int[] v => string.Join(",", v),
        bool b => b ? "1" : "0",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        var o => o.ToString(),
    }}"));
}
