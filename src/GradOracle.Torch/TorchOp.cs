using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Torch;

/// <summary>
/// libtorch as one more oracle behind the interface the checkers use: an <see cref="IOp"/> whose forward
/// and backward are libtorch's, for the op described by one of ours.
/// </summary>
public sealed class TorchOp : IOp
{
    private readonly string torchName;
    private readonly OpAttributes torchAttrs;

    private TorchOp(IOp reference, string torchName, OpAttributes torchAttrs)
    {
        Reference = reference;
        this.torchName = torchName;
        this.torchAttrs = torchAttrs;
    }

    /// <summary>The op this one mirrors.</summary>
    public IOp Reference { get; }

    /// <inheritdoc/>
    public string Name => Reference.Name;

    /// <inheritdoc/>
    public OpAttributes Attrs => Reference.Attrs;

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs => Reference.DifferentiableInputs;

    /// <summary>
    /// libtorch's counterpart of <paramref name="op"/>, or null with the reason when libtorch has none
    /// (stochastic pooling; tie policies other than first; NaN rules other than propagate).
    /// </summary>
    public static IOp? For(IOp op, out string? whyNot)
    {
        whyNot = null;
        switch (op)
        {
            case Sequential s:
                var layers = new IOp[s.Layers.Count];
                for (int i = 0; i < layers.Length; i++)
                    if ((layers[i] = For(s.Layers[i], out whyNot)!) is null) return null;
                return new Sequential(s.Name, layers);
            case StochasticPool:
                whyNot = "libtorch has no stochastic pooling";
                return null;
            case MaxPool m when m.TiePolicy != TiePolicy.First || m.NanRule != NanRule.Propagate:
                whyNot = "libtorch follows tie_policy=first and nan_rule=propagate only";
                return null;
            case MaxPool m:
                return Pooling(op, m.Windows);
            case AvgPool a:
                return Pooling(op, a.Windows);
            case Convolution or Linear or Activation or Softmax or CrossEntropy or BatchNorm or Flatten:
                return new TorchOp(op, op.Name, op.Attrs);
            default:
                whyNot = $"no libtorch mapping for {op.Name}";
                return null;
        }
    }

    /// <summary>Whether libtorch has a function for the op name.</summary>
    public static bool HasFunction(string name) => TorchFunctions.Forward.ContainsKey(TorchName(name));

    /// <summary>libtorch's name for the op: global pooling is its adaptive pooling (to size 1).</summary>
    private static string TorchName(string name) =>
        name.StartsWith("global_", StringComparison.Ordinal) ? "adaptive_" + name["global_".Length..] : name;

    private static TorchOp Pooling(IOp op, PoolingWindows windows) => windows.IsGlobal
        ? new TorchOp(op, TorchName(op.Name), new OpAttributes(("output_size", Enumerable.Repeat(1, windows.Rank).ToArray())))
        : new TorchOp(op, op.Name, op.Attrs);

    /// <summary>Forward and (with <paramref name="gradOutput"/>) backward in one libtorch call.</summary>
    public TorchAnswer Run(NamedTensors inputs, Tensor? gradOutput) => TorchBridge.Run(torchName, torchAttrs, inputs, gradOutput, [.. DifferentiableInputs]);

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs) => Unwrap(Run(inputs, null)).Output;

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var answer = Unwrap(Run(inputs, gradOutput));
        return new NamedTensors(DifferentiableInputs.Select(n => (n, answer.Tensors[$"grad.{n}"])).ToArray());
    }

    private static TorchAnswer Unwrap(TorchAnswer a) =>
        a.Error is null ? a : throw new TorchException(a.Error);
}

