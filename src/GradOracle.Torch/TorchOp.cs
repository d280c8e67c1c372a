using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Torch;

/// <summary>
/// libtorch as one more oracle behind the interface the checkers use: an <see cref="IOp"/> whose forward
/// and backward are libtorch's, for the op described by one of ours.
/// </summary>
public sealed class TorchOp : IOp, IHasExtraOutputs
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
    public OpAttributes Attributes => Reference.Attributes;

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs => Reference.DifferentiableInputs;

    /// <summary>
    /// libtorch's counterpart of <paramref name="op"/>, as its descriptor names it, or null with the reason when libtorch
    /// has none (stochastic pooling; tie policies other than first; NaN rules other than propagate).
    /// </summary>
    public static IOp? For(IOp op, out string? whyNot)
    {
        if (op is Sequential s)
        {
            whyNot = null;
            var layers = new IOp[s.Layers.Count];
            for (int i = 0; i < layers.Length; i++)
                if ((layers[i] = For(s.Layers[i], out whyNot)!) is null) return null;
            return new Sequential(s.Name, layers);
        }
        if (op.Descriptor.Torch(op, out whyNot) is not { } call) return null;
        if (!TorchFunctions.Forward.ContainsKey(call.Function))
        {
            whyNot = $"no libtorch mapping for {call.Function}";
            return null;
        }
        return new TorchOp(op, call.Function, call.Attributes);
    }

    /// <summary>Whether libtorch has a function for the op name.</summary>
    public static bool HasFunction(string name) =>
        OpFactory.Knows(name) && TorchFunctions.Forward.ContainsKey(OpFactory.Describe(name).TorchName(name));

    /// <summary>Forward and (with <paramref name="gradOutput"/>) backward in one libtorch call.</summary>
    public TorchAnswer Call(NamedTensors inputs, Tensor? gradOutput) => TorchBridge.Call(torchName, torchAttrs, inputs, gradOutput, [.. DifferentiableInputs]);

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs) => Unwrap(Call(inputs, null)).Output;

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var answer = Unwrap(Call(inputs, gradOutput));
        return new NamedTensors(DifferentiableInputs.Select(n => (n, answer.Tensors[$"grad.{n}"])).ToArray());
    }

    /// <summary>What libtorch returned beside the output under "extras.&lt;name&gt;" (batch norm's updated running statistics).</summary>
    public NamedTensors? ExtraOutputs(NamedTensors inputs) => Extras(Unwrap(Call(inputs, null)));

    /// <summary>The extra outputs of one answer; null when it has none.</summary>
    public static NamedTensors? Extras(TorchAnswer a)
    {
        var extras = a.Tensors.Items.Where(t => OpResult.IsExtra(t.Name)).Select(t => (t.Name["extras.".Length..], t.Value)).ToArray();
        return extras.Length == 0 ? null : new NamedTensors(extras);
    }

    private static TorchAnswer Unwrap(TorchAnswer a) =>
        a.Error is null ? a : throw new TorchException(a.Error);
}

