// relu and linear in C# through GradOracle.Adapter: dotnet examples/dotnet/Layers/bin/Debug/net10.0/Layers.dll [--bug]
// (--bug divides linear's weight gradient by the batch size).
using GradOracle.Adapter;

bool bug = args.Contains("--bug");
var adapter = new ProtocolAdapter("dotnet-example", "float64");
Console.WriteLine("this line goes to stderr, not into the replies");

adapter.Op("relu", (inputs, attrs, dy) =>
{
    var x = inputs["input"];
    var y = new ProtocolTensor(x.Shape, [.. x.Data.Select(v => v > 0 || double.IsNaN(v) ? v : 0)]);
    return dy is null ? new(y) : new(y, new Dictionary<string, ProtocolTensor> { ["input"] = new(x.Shape, [.. dy.Data.Select((g, i) => x.Data[i] > 0 ? g : 0)]) });
});

adapter.Op("linear", (inputs, attrs, dy) =>
{
    var (x, w) = (inputs["input"], inputs["weight"]);
    inputs.TryGetValue("bias", out var b);
    long outF = w.Shape[0], inF = w.Shape[1], rows = x.Data.Length / inF;
    var y = new ProtocolTensor([.. x.Shape[..^1], outF], new double[rows * outF]);
    for (long n = 0; n < rows; n++)
        for (long o = 0; o < outF; o++)
        {
            double s = b?.Data[o] ?? 0;
            for (long i = 0; i < inF; i++) s += x.Data[n * inF + i] * w.Data[o * inF + i];
            y.Data[n * outF + o] = s;
        }
    if (dy is null) return new(y);
    var (dx, dw, db) = (ProtocolTensor.Zeros(x.Shape), ProtocolTensor.Zeros(w.Shape), ProtocolTensor.Zeros(outF));
    for (long n = 0; n < rows; n++)
        for (long o = 0; o < outF; o++)
        {
            double g = dy.Data[n * outF + o];
            db.Data[o] += g;
            for (long i = 0; i < inF; i++) { dx.Data[n * inF + i] += g * w.Data[o * inF + i]; dw.Data[o * inF + i] += g * x.Data[n * inF + i]; }
        }
    if (bug) for (int k = 0; k < dw.Data.Length; k++) dw.Data[k] /= rows;
    var grads = new Dictionary<string, ProtocolTensor> { ["input"] = dx, ["weight"] = dw };
    if (b is not null) grads["bias"] = db;
    return new(y, grads);
});

return adapter.Serve();
