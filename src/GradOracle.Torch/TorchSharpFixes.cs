using System.Runtime.InteropServices;
using TorchSharp;
using TorchTensor = TorchSharp.torch.Tensor;

namespace GradOracle.Torch;

/// <summary>
/// Calls libtorch directly where TorchSharp's C# side calls the wrong native function: in TorchSharp 0.107.0
/// <c>adaptive_max_pool3d_with_indices</c> calls the 1d kernel (THSTensor_adaptive_max_pool1d), which refuses
/// every 5-d input; and <c>hardtanh</c> declares the native call void and returns its input, unclamped. The native
/// library's own entry points are right.
/// </summary>
internal static unsafe class TorchSharpFixes
{
    private static delegate* unmanaged<IntPtr, long*, int, IntPtr*, IntPtr> adaptiveMaxPool3d;
    private static delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr> hardtanh;
    private static delegate* unmanaged<double, IntPtr> scalarOf;
    private static delegate* unmanaged<IntPtr, void> disposeScalar;

    /// <summary>Resolves the entry points from the loaded libLibTorchSharp.</summary>
    public static void Use(IntPtr libTorchSharp)
    {
        adaptiveMaxPool3d = (delegate* unmanaged<IntPtr, long*, int, IntPtr*, IntPtr>)NativeLibrary.GetExport(libTorchSharp, "THSTensor_adaptive_max_pool3d");
        hardtanh = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr>)NativeLibrary.GetExport(libTorchSharp, "THSTensor_hardtanh");
        scalarOf = (delegate* unmanaged<double, IntPtr>)NativeLibrary.GetExport(libTorchSharp, "THSTorch_float64_to_scalar");
        disposeScalar = (delegate* unmanaged<IntPtr, void>)NativeLibrary.GetExport(libTorchSharp, "THSTorch_dispose_scalar");
    }

    /// <summary>torch.nn.functional.hardtanh(input, min_val, max_val).</summary>
    public static TorchTensor Hardtanh(TorchTensor input, double minVal, double maxVal)
    {
        if (hardtanh == null) throw new InvalidOperationException("libtorch is not loaded");
        IntPtr lo = scalarOf(minVal), hi = scalarOf(maxVal);
        try
        {
            var result = hardtanh(input.Handle, lo, hi);
            if (result == IntPtr.Zero) torch.CheckForErrors();
            return TorchTensor.UnsafeCreateTensor(result);
        }
        finally
        {
            disposeScalar(lo);
            disposeScalar(hi);
        }
    }

    /// <summary>torch.nn.functional.adaptive_max_pool3d(input, output_size, return_indices=True).</summary>
    public static (TorchTensor Values, TorchTensor Indices) AdaptiveMaxPool3d(TorchTensor input, long[] outputSize)
    {
        if (adaptiveMaxPool3d == null) throw new InvalidOperationException("libtorch is not loaded");
        IntPtr indices;
        IntPtr values;
        fixed (long* size = outputSize) values = adaptiveMaxPool3d(input.Handle, size, outputSize.Length, &indices);
        if (values == IntPtr.Zero || indices == IntPtr.Zero) torch.CheckForErrors();
        return (TorchTensor.UnsafeCreateTensor(values), TorchTensor.UnsafeCreateTensor(indices));
    }
}
