using System.Text.RegularExpressions;

namespace GradOracle.Layers;

/// <summary>
/// Builds an op from its torch.nn.functional name, attributes (PyTorch names) and the names of the
/// inputs it is given (a bias or batch norm's weight is optional by its presence): the inverse of
/// <see cref="IOp.Name"/> and <see cref="IOp.Attrs"/>. Missing attributes take PyTorch's defaults.
/// </summary>
public static partial class OpFactory
{
    /// <summary>The op names the factory knows, with {r} standing for the spatial rank 1-3.</summary>
    public static IReadOnlyList<string> Known { get; } =
    [
        "max_pool{r}d", "avg_pool{r}d", "adaptive_max_pool{r}d", "adaptive_avg_pool{r}d", "global_max_pool{r}d", "global_avg_pool{r}d",
        "stochastic_pool{r}d", "conv{r}d", "linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax", "cross_entropy",
        "batch_norm", "flatten",
    ];

    /// <summary>Every op name the factory knows, the spatial ranks spelled out (max_pool1d, max_pool2d, ...).</summary>
    public static IReadOnlyList<string> Names { get; } =
        Known.SelectMany(o => o.Contains("{r}") ? new[] { 1, 2, 3 }.Select(r => o.Replace("{r}", r.ToString())) : [o]).ToList();

    /// <summary>Every situation where an op's gradient is a set (<see cref="Checking.Situation"/>), as an implementation declares them.</summary>
    public static IReadOnlyList<Checking.Situation> Situations { get; } =
        [MaxPoolConventions.Ties, MaxPoolConventions.Nan, ActivationConventions.ReluAtZero, ActivationConventions.LeakyAtZero];

    [GeneratedRegex(@"^(max_pool|avg_pool|adaptive_max_pool|adaptive_avg_pool|global_max_pool|global_avg_pool|stochastic_pool|conv)([123])d$")]
    private static partial Regex Spatial();

    /// <summary>
    /// The op; a <see cref="ParameterException"/> naming the op or attribute when they are not valid, or when an
    /// attribute is one the op does not have (refused, never ignored: a misspelt "dilatoin" must not pass unread).
    /// </summary>
    public static IOp Create(string name, OpAttributes attrs, IEnumerable<string> inputNames)
    {
        var op = Build(name, attrs, inputNames);
        var has = op.Attrs.Select(a => a.Key).ToHashSet();
        if (name.StartsWith("avg_pool", StringComparison.Ordinal)) has.Add("divisor_override"); // optional: absent from Attrs when unset
        foreach (var a in attrs)
            if (!has.Contains(a.Key))
                throw new ParameterException(a.Key, OpAttributes.Format(a.Value),
                    $"is not an attribute of {name} (it has {(has.Count == 0 ? "none" : string.Join(", ", has.Order(StringComparer.Ordinal)))})");
        return op;
    }

    private static IOp Build(string name, OpAttributes attrs, IEnumerable<string> inputNames)
    {
        var inputs = inputNames.ToHashSet();
        var m = Spatial().Match(name);
        if (m.Success)
        {
            int r = m.Groups[2].Value[0] - '0';
            return m.Groups[1].Value switch
            {
                "max_pool" => MaxPool.Create(r, Ints(attrs, "kernel_size", null)!, OptionalInts(attrs, "stride"), Ints(attrs, "padding", [0]),
                    Ints(attrs, "dilation", [1]), Bool(attrs, "ceil_mode", false), Tie(attrs), Nan(attrs)),
                "avg_pool" => AvgPool.Create(r, Ints(attrs, "kernel_size", null)!, OptionalInts(attrs, "stride"), Ints(attrs, "padding", [0]),
                    Bool(attrs, "ceil_mode", false), Bool(attrs, "count_include_pad", true), attrs.Contains("divisor_override") ? Int(attrs, "divisor_override", 0) : null),
                "adaptive_max_pool" => MaxPool.Adaptive(r, Ints(attrs, "output_size", null)!, Tie(attrs), Nan(attrs)),
                "adaptive_avg_pool" => AvgPool.Adaptive(r, Ints(attrs, "output_size", null)!),
                "global_max_pool" => MaxPool.Global(r, Tie(attrs), Nan(attrs)),
                "global_avg_pool" => AvgPool.Global(r),
                "stochastic_pool" => StochasticPool.Create(r, Ints(attrs, "kernel_size", null)!, OptionalInts(attrs, "stride"), Bool(attrs, "ceil_mode", false), Bool(attrs, "training", true)),
                _ => Convolution.Create(r, Ints(attrs, "stride", [1]), Padding(attrs), Ints(attrs, "dilation", [1]), Int(attrs, "groups", 1), inputs.Contains("bias")),
            };
        }
        return name switch
        {
            "linear" => new Linear(inputs.Contains("bias")),
            "relu" => Activation.Relu(),
            "leaky_relu" => Activation.LeakyRelu(Double(attrs, "negative_slope", 0.01)),
            "sigmoid" => Activation.Sigmoid(),
            "tanh" => Activation.Tanh(),
            "softmax" => new Softmax(Int(attrs, "dim", null)),
            "log_softmax" => new Softmax(Int(attrs, "dim", null), log: true),
            "cross_entropy" => new CrossEntropy(Enum<Reduction>(attrs, "reduction", Reduction.Mean)),
            "batch_norm" => new BatchNorm(Bool(attrs, "training", false), Double(attrs, "eps", 1e-5), inputs.Contains("weight")),
            "flatten" => new Flatten(Int(attrs, "start_dim", 1), Int(attrs, "end_dim", -1)),
            _ => throw new ParameterException("op", $"'{name}'", $"is not an op GradOracle knows ({string.Join(", ", Known)})"),
        };
    }

    private static object? Get(OpAttributes attrs, string key) => attrs.Contains(key) ? attrs[key] : null;

    private static int[]? Ints(OpAttributes attrs, string key, int[]? fallback) => Get(attrs, key) switch
    {
        null => fallback ?? throw new ParameterException(key, "missing", "is required"),
        int[] a => a,
        int i => [i],
        var v => throw new ParameterException(key, OpAttributes.Format(v), "must be an integer or a list of integers"),
    };

    private static int[]? OptionalInts(OpAttributes attrs, string key) => Get(attrs, key) is null ? null : Ints(attrs, key, null);

    private static int Int(OpAttributes attrs, string key, int? fallback) => Get(attrs, key) switch
    {
        null => fallback ?? throw new ParameterException(key, "missing", "is required"),
        int i => i,
        var v => throw new ParameterException(key, OpAttributes.Format(v), "must be an integer"),
    };

    private static double Double(OpAttributes attrs, string key, double fallback) => Get(attrs, key) switch
    {
        null => fallback,
        double d => d,
        int i => i,
        var v => throw new ParameterException(key, OpAttributes.Format(v), "must be a number"),
    };

    private static bool Bool(OpAttributes attrs, string key, bool fallback) => Get(attrs, key) switch
    {
        null => fallback,
        bool b => b,
        var v => throw new ParameterException(key, OpAttributes.Format(v), "must be true or false"),
    };

    private static T Enum<T>(OpAttributes attrs, string key, T fallback) where T : struct, System.Enum => Get(attrs, key) switch
    {
        null => fallback,
        // By name only: Enum.TryParse also takes "7" or "mean, sum", values no PyTorch reduction has.
        string s when System.Enum.GetNames<T>().FirstOrDefault(n => n.Equals(s, StringComparison.OrdinalIgnoreCase)) is { } name => System.Enum.Parse<T>(name),
        var v => throw new ParameterException(key, OpAttributes.Format(v), $"must be one of {string.Join(", ", System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}"),
    };

    private static TiePolicy Tie(OpAttributes attrs) => Get(attrs, "tie_policy") switch
    {
        null => TiePolicy.First,
        string s => PoolingRuleNames.ParseTie(s),
        var v => throw new ParameterException("tie_policy", OpAttributes.Format(v), $"must be one of {string.Join(", ", PoolingRuleNames.TiePolicies)}"),
    };

    private static NanRule Nan(OpAttributes attrs) => Get(attrs, "nan_rule") switch
    {
        null => NanRule.Propagate,
        string s => PoolingRuleNames.ParseNan(s),
        var v => throw new ParameterException("nan_rule", OpAttributes.Format(v), $"must be one of {string.Join(", ", PoolingRuleNames.NanRules)}"),
    };

    private static ConvPadding Padding(OpAttributes attrs) => Get(attrs, "padding") switch
    {
        null => ConvPadding.Of(0),
        "same" => ConvPadding.Same,
        "valid" => ConvPadding.Valid,
        int i => ConvPadding.Of(i),
        int[] a => ConvPadding.Of(a),
        var v => throw new ParameterException("padding", OpAttributes.Format(v), "must be an integer, a list of integers, 'same' or 'valid'"),
    };
}
