namespace GradOracle.Layers;

/// <summary>
/// What a request gives an op's descriptor to build the op from: the name's spatial rank, the attributes and the
/// names of the inputs present. The readers take PyTorch's defaults and refuse a value of the wrong kind, naming it.
/// </summary>
public sealed class OpArguments(string name, int rank, OpAttributes attributes, IReadOnlySet<string> inputs)
{
    /// <summary>The op name asked for, e.g. <c>max_pool2d</c>.</summary>
    public string Name { get; } = name;

    /// <summary>The spatial rank the name spells (1-3), or 0 for ops without one.</summary>
    public int Rank { get; } = rank;

    /// <summary>The attributes as sent.</summary>
    public OpAttributes Attributes { get; } = attributes;

    /// <summary>Whether an input of that name was given (a bias, batch norm's weight: optional by their presence).</summary>
    public bool Has(string input) => inputs.Contains(input);

    /// <summary>The attribute's value; null when absent.</summary>
    public object? Get(string key) => Attributes.Contains(key) ? Attributes[key] : null;

    /// <summary>A list of integers (a single integer stands for itself); <paramref name="fallback"/> when absent, which null makes required.</summary>
    public int[] Ints(string key, int[]? fallback = null) => Get(key) switch
    {
        null => fallback ?? throw new ParameterException(key, "missing", "is required"),
        int[] a => a,
        int i => [i],
        var v => throw new ParameterException(key, OpAttributes.Format(v), "must be an integer or a list of integers"),
    };

    /// <summary>A list of integers, or null when absent.</summary>
    public int[]? OptionalInts(string key) => Get(key) is null ? null : Ints(key);

    /// <summary>An integer; <paramref name="fallback"/> when absent, which null makes required.</summary>
    public int Int(string key, int? fallback = null) => Get(key) switch
    {
        null => fallback ?? throw new ParameterException(key, "missing", "is required"),
        int i => i,
        var v => throw new ParameterException(key, OpAttributes.Format(v), "must be an integer"),
    };

    /// <summary>An integer, or null when absent.</summary>
    public int? OptionalInt(string key) => Get(key) is null ? null : Int(key);

    /// <summary>A number (an integer is one).</summary>
    public double Double(string key, double fallback) => Get(key) switch
    {
        null => fallback,
        double d => d,
        int i => i,
        var v => throw new ParameterException(key, OpAttributes.Format(v), "must be a number"),
    };

    /// <summary>A list of numbers (a single number, or integers, stand for themselves), or null when absent.</summary>
    public double[]? OptionalDoubles(string key) => Get(key) switch
    {
        null => null,
        double[] a => a,
        int[] a => [.. a.Select(i => (double)i)],
        double d => [d],
        int i => [i],
        var v => throw new ParameterException(key, OpAttributes.Format(v), "must be a number or a list of numbers"),
    };

    /// <summary>true or false, or null when absent.</summary>
    public bool? OptionalBool(string key) => Get(key) is null ? null : Bool(key, false);

    /// <summary>true or false.</summary>
    public bool Bool(string key, bool fallback) => Get(key) switch
    {
        null => fallback,
        bool b => b,
        var v => throw new ParameterException(key, OpAttributes.Format(v), "must be true or false"),
    };

    /// <summary>One of an enum's names, lower case in requests.</summary>
    public T Enum<T>(string key, T fallback) where T : struct, System.Enum => Get(key) switch
    {
        null => fallback,
        // By name only: Enum.TryParse also takes "7" or "mean, sum", values no PyTorch option has.
        string s when System.Enum.GetNames<T>().FirstOrDefault(n => n.Equals(s, StringComparison.OrdinalIgnoreCase)) is { } n => System.Enum.Parse<T>(n),
        var v => throw new ParameterException(key, OpAttributes.Format(v), $"must be one of {string.Join(", ", System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}"),
    };

    /// <summary>A string from <paramref name="choices"/>, read by <paramref name="parse"/>.</summary>
    public T Choice<T>(string key, T fallback, IEnumerable<string> choices, Func<string, T> parse) => Get(key) switch
    {
        null => fallback,
        string s => parse(s),
        var v => throw new ParameterException(key, OpAttributes.Format(v), $"must be one of {string.Join(", ", choices)}"),
    };
}
