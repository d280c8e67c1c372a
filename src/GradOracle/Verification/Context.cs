using GradOracle.Geometry;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>Describes a differing element with its surroundings: for pooling, the windows and input values involved.</summary>
internal static class Context
{
    public static string Describe(WorkItem item, Evaluation ev, string key, int index, double expected, double actual)
    {
        var shape = ev.ExpectedAt(key).Shape;
        var coords = shape.Coordinates(index);
        var text = $"{key}[{string.Join(", ", coords)}]: expected {Tensor.FormatNumber(expected)}, got {Tensor.FormatNumber(actual)}";
        var windows = WindowsOf(item.Oracle);
        if (windows is null) return text;
        var x = ev.Inputs["input"];
        var g = windows.For(x.Shape);
        int plane = coords[0] * x.Shape[1] + coords[1];
        var planeValues = x.Span.Slice(plane * g.InputPlaneSize, g.InputPlaneSize).ToArray();
        var taps = new int[g.MaxWindowSize];
        var kt = new int[g.MaxWindowSize];
        string Window(int o)
        {
            int n = g.Gather(o, taps, kt);
            return $"window ({string.Join(", ", g.OutputCoordinates(o))}) over input values [{string.Join(", ", taps.Take(n).Select(t => Tensor.FormatNumber(planeValues[t])))}]";
        }
        if (key == "output")
            return $"{text}; {Window(index % g.OutputPlaneSize)}";
        if (key != "grads.input") return text;
        int cell = index % g.InputPlaneSize;
        var containing = Enumerable.Range(0, g.OutputPlaneSize).Where(o => { int n = g.Gather(o, taps, kt); return taps.Take(n).Contains(cell); }).ToList();
        return $"{text}; input value {Tensor.FormatNumber(planeValues[cell])} lies in {containing.Count} window(s)" +
               (containing.Count == 0 ? "" : ": " + string.Join("; ", containing.Take(2).Select(Window)) + (containing.Count > 2 ? "; ..." : ""));
    }

    public static PoolingWindows? WindowsOf(IOp op) => (op as IHasWindows)?.Windows;
}
