using System.Diagnostics;
using System.Runtime.InteropServices;
using GradOracle.Layers;
using GradOracle.Tensors;
using TorchSharp;
using TorchTensor = TorchSharp.torch.Tensor;

namespace GradOracle.Torch;

/// <summary>Calls into libtorch through TorchSharp, in float64, one call at a time.</summary>
public static class TorchBridge
{
    /// <summary>What makes libtorch available: it comes with the TorchSharp-cpu package, restored by the build.</summary>
    public const string InstallCommand = "dotnet build GradOracle.sln";

    private static readonly Lazy<TorchAvailability> availability = new(Probe);
    private static readonly Lock gate = new();

    /// <summary>Whether libtorch is usable. Loaded on first use only, so commands that do not need it never pay for it.</summary>
    public static TorchAvailability Availability => availability.Value;

    private static TorchAvailability Probe()
    {
        if (Environment.GetEnvironmentVariable("GRADORACLE_NO_TORCH") == "1")
            return new TorchAvailability(false, null, "libtorch disabled by GRADORACLE_NO_TORCH=1; unset it to use libtorch");
        var clock = Stopwatch.StartNew();
        try
        {
            var load = TorchSharpLoader.Load();
            TorchSharpFixes.Use(load.Handle);
            using (torch.NewDisposeScope()) _ = torch.zeros(1, torch.float64); // initialises TorchSharp against what was loaded
            // One thread: a parallel reduction's order, and so its last bits, would vary from run to run.
            torch.set_num_threads(1);
            var version = string.Join('.', torch.__version__.Split('.').Take(3));
            double seconds = clock.Elapsed.TotalSeconds;
            var binding = typeof(torch).Assembly.GetName().Version is { } v ? $"TorchSharp {v.Major}.{v.Minor}.{v.Build}" : "TorchSharp";
            var patch = load.Weakened.IsEmpty ? "" : $"; {Path.GetFileName(load.LibTorchSharp)} from a copy with {string.Join(", ", load.Weakened)} made weak (docs/libtorch.md)";
            return new TorchAvailability(true, version, $"libtorch {version} through {binding}, loaded in {seconds:0.0} s{patch}", seconds);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException or TypeInitializationException
                                      or NotSupportedException or IOException or UnauthorizedAccessException or InvalidDataException)
        {
            var inner = e is TypeInitializationException { InnerException: { } i } ? i : e;
            return new TorchAvailability(false, null,
                $"libtorch unavailable ({inner.GetType().Name}: {FirstLine(inner.Message)}); it comes with the TorchSharp-cpu package: `{InstallCommand}`");
        }
    }

    private static string FirstLine(string s)
    {
        var lines = s.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        // .NET's load error puts dlerror's text, the useful part, after a generic first line.
        return lines.FirstOrDefault(l => l.Contains("not found") || l.Contains("cannot open")) ?? lines.FirstOrDefault() ?? "";
    }

    /// <summary>
    /// Runs <paramref name="op"/> (torch.nn.functional name) in libtorch; with <paramref name="gradOutput"/>,
    /// also its backward through autograd, for the inputs named in <paramref name="differentiable"/> (the op's
    /// own list). Never throws for libtorch's own errors: they come back in <see cref="TorchAnswer.Error"/>,
    /// and its warnings in <see cref="TorchAnswer.Warnings"/>.
    /// </summary>
    public static TorchAnswer Call(string op, OpAttributes attrs, NamedTensors inputs, Tensor? gradOutput, IReadOnlyCollection<string> differentiable)
    {
        if (!Availability.IsAvailable) throw new InvalidOperationException(Availability.Message);
        if (!TorchFunctions.Forward.TryGetValue(op, out var forward))
            return new TorchAnswer(new NamedTensors(), $"libtorch bridge has no op '{op}'");
        lock (gate)
        {
            using var scope = torch.NewDisposeScope();
            using var capture = StandardErrorCapture.Start();
            try
            {
                var tensors = new Dictionary<string, TorchTensor>();
                foreach (var (name, value) in inputs.Items)
                    tensors[name] = ToTorch(value, gradOutput is not null && differentiable.Contains(name));
                var call = new TorchCall(attrs, tensors);
                var output = forward(call);
                var results = new List<(string, Tensor)> { ("output", FromTorch(output)) };
                if (gradOutput is not null)
                {
                    output.backward([ToTorch(gradOutput, false)]);
                    foreach (var (name, t) in tensors.Where(t => t.Value.requires_grad))
                        results.Add(($"grad.{name}", t.grad is { } g ? FromTorch(g) : Tensor.Zeros(inputs[name].Shape)));
                }
                results.AddRange(call.Extra.Select(e => (e.Name, FromTorch(e.Value))));
                return new TorchAnswer(new NamedTensors([.. results]), null, capture.Finish());
            }
            catch (Exception e) when (e is ExternalException or ArgumentException)
            {
                return new TorchAnswer(new NamedTensors(), Message(e), capture.Finish());
            }
        }
    }

    private static TorchTensor ToTorch(Tensor t, bool requiresGrad) =>
        torch.tensor(t.ToArray(), [.. t.Shape.Dimensions.Select(d => (long)d)], torch.float64, requires_grad: requiresGrad);

    private static Tensor FromTorch(TorchTensor t)
    {
        using var values = t.detach().to(torch.float64).contiguous();
        return Tensor.FromArray(Shape.Of([.. t.shape.Select(d => checked((int)d))]), values.data<double>().ToArray());
    }

    /// <summary>libtorch's message without the C++ backtrace it appends.</summary>
    private static string Message(Exception e)
    {
        var m = e.Message;
        int cut = m.IndexOf("\nException raised from", StringComparison.Ordinal);
        return (cut >= 0 ? m[..cut] : m).Trim();
    }
}
