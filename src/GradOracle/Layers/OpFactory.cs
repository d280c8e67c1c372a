using System.Text.RegularExpressions;

namespace GradOracle.Layers;

/// <summary>
/// The ops the oracle has, one descriptor each, and the factory that builds one from its torch.nn.functional name,
/// attributes (PyTorch names) and the names of the inputs it is given (a bias or batch norm's weight is optional by
/// its presence): the inverse of <see cref="IOp.Name"/> and <see cref="IOp.Attributes"/>. Missing attributes take
/// PyTorch's defaults.
/// </summary>
public static partial class OpFactory
{
    /// <summary>Every op, by its descriptor: adding an op is one line here.</summary>
    public static IReadOnlyList<OpDescriptor> Descriptors { get; } =
    [
        MaxPool.Descriptor, AvgPool.Descriptor, MaxPool.AdaptiveDescriptor, AvgPool.AdaptiveDescriptor, MaxPool.GlobalDescriptor, AvgPool.GlobalDescriptor,
        StochasticPool.Descriptor, Convolution.Descriptor, Linear.Descriptor,
        Activation.ReluDescriptor, Activation.LeakyReluDescriptor, Activation.SigmoidDescriptor, Activation.TanhDescriptor, Gelu.Descriptor,
        Softmax.Descriptor, Softmax.LogDescriptor, CrossEntropy.Descriptor, BatchNorm.Descriptor, Flatten.Descriptor,
        Silu.Descriptor, Mish.Descriptor, Hardtanh.Descriptor, Hardtanh.Relu6Descriptor, Hardsigmoid.Descriptor, Hardswish.Descriptor,
        Elu.Descriptor, Elu.SeluDescriptor, Elu.CeluDescriptor, Softplus.Descriptor, Prelu.Descriptor,
        PixelShuffle.Descriptor, PixelShuffle.UnshuffleDescriptor, MseLoss.Descriptor, ConvTranspose.Descriptor,
        Normalization.LayerDescriptor, Normalization.GroupDescriptor, Normalization.InstanceDescriptor,
        BinaryCrossEntropy.Descriptor, BinaryCrossEntropyWithLogits.Descriptor, KlDiv.Descriptor, NllLoss.Descriptor,
        RegressionLoss.L1Descriptor, RegressionLoss.SmoothL1Descriptor, RegressionLoss.HuberDescriptor, Pad.Descriptor, Dropout.Descriptor, Embedding.Descriptor, MaxUnpool.Descriptor, LocalResponseNorm.Descriptor,
        LpPool.Descriptor, Interpolate.Descriptor,
    ];

    private static readonly Dictionary<string, OpDescriptor> ByName =
        Descriptors.SelectMany(d => d.Names.Select(n => (n, d))).ToDictionary(p => p.n, p => p.d);

    /// <summary>The op names the factory knows, with {r} standing for the spatial rank 1-3.</summary>
    public static IReadOnlyList<string> Known { get; } = [.. Descriptors.Select(d => d.Name)];

    /// <summary>Every op name the factory knows, the spatial ranks spelled out (max_pool1d, max_pool2d, ...).</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Descriptors.SelectMany(d => d.Names)];

    /// <summary>Every situation where an op's gradient is a set (<see cref="Situation"/>), as an implementation declares them.</summary>
    public static IReadOnlyList<Situation> Situations { get; } = [.. Descriptors.SelectMany(d => d.Kinks).Distinct()];

    [GeneratedRegex(@"([123])d$")]
    private static partial Regex RankSuffix();

    /// <summary>The descriptor of an op name; for a name the factory does not know (a composite, a test's wrapper), one that claims nothing.</summary>
    public static OpDescriptor Describe(string name) => ByName.GetValueOrDefault(name) ?? Unregistered(name);

    /// <summary>Whether the factory knows the op name.</summary>
    public static bool Knows(string name) => ByName.ContainsKey(name);

    /// <summary>
    /// The op; a <see cref="ParameterException"/> naming the op, attribute or input when they are not valid, or when an
    /// attribute or input is one the op does not have (refused, never ignored: a misspelt "dilatoin" must not pass unread).
    /// </summary>
    public static IOp Create(string name, OpAttributes attributes, IEnumerable<string> inputNames)
    {
        if (!ByName.TryGetValue(name, out var d))
            throw new ParameterException("op", $"'{name}'", $"is not an op GradOracle knows ({string.Join(", ", Known)})");
        var has = d.Attributes.Select(a => a.Name).ToHashSet();
        foreach (var a in attributes)
            if (!has.Contains(a.Key))
                throw new ParameterException(a.Key, OpAttributes.Format(a.Value),
                    $"is not an attribute of {name} (it has {(has.Count == 0 ? "none" : string.Join(", ", has.Order(StringComparer.Ordinal)))})");
        // An input the op does not take is refused like an attribute: ignored, it would silently mean nothing (running_mean to instance_norm).
        var takes = d.Inputs.Select(i => i.Name).ToList();
        var given = inputNames.ToList();
        foreach (var input in given)
            if (!takes.Contains(input))
                throw new ParameterException($"inputs.{input}", "a tensor", $"is not an input of {name} (it takes {string.Join(", ", takes)})");
        var m = RankSuffix().Match(name);
        int rank = d.Name.Contains("{r}") && m.Success ? m.Groups[1].Value[0] - '0' : 0;
        return d.Create(new OpArguments(name, rank, attributes, given.ToHashSet()));
    }

    /// <summary>The op rebuilt with attributes replaced, or null when that is not a valid op.</summary>
    public static IOp? TryWith(IOp op, IEnumerable<string> inputNames, params (string Key, object Value)[] changes)
    {
        var attributes = new OpAttributes(op.Attributes.Where(a => changes.All(c => c.Key != a.Key)).Select(a => (a.Key, (object?)a.Value))
            .Concat(changes.Select(c => (c.Key, (object?)c.Value))).ToArray());
        try { return Create(op.Name, attributes, inputNames); }
        catch (ParameterException) { return null; }
    }

    private static OpDescriptor Unregistered(string name) => new OpDescriptor<IOp>
    {
        Name = name,
        Inputs = [],
        FiniteDifferencesOfForward = true,
        DrawWeight = 0,
        Build = _ => throw new ParameterException("op", $"'{name}'", "is not an op GradOracle knows"),
        TorchLacks = op => $"no libtorch mapping for {op.Name}",
    };
}
