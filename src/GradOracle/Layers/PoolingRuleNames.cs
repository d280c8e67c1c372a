namespace GradOracle.Layers;

/// <summary>The protocol's names of the max-pooling rules (<c>first</c>, <c>propagate_first</c>, ...), both ways.</summary>
public static class PoolingRuleNames
{
    /// <summary>Every tie policy's name, in declaration order.</summary>
    public static IReadOnlyList<string> TiePolicies { get; } = Enum.GetValues<TiePolicy>().Select(Name).ToArray();

    /// <summary>Every NaN rule's name, in declaration order.</summary>
    public static IReadOnlyList<string> NanRules { get; } = Enum.GetValues<NanRule>().Select(Name).ToArray();

    /// <summary>first, last, split, all.</summary>
    public static string Name(TiePolicy t) => t.ToString().ToLowerInvariant();

    /// <summary>propagate, ignore, propagate_first, propagate_split, propagate_none.</summary>
    public static string Name(NanRule n) => n switch
    {
        NanRule.PropagateFirst => "propagate_first",
        NanRule.PropagateSplit => "propagate_split",
        NanRule.PropagateNone => "propagate_none",
        _ => n.ToString().ToLowerInvariant(),
    };

    /// <summary>The tie policy called <paramref name="name"/>; a clear error naming <paramref name="parameter"/> otherwise.</summary>
    public static TiePolicy ParseTie(string name, string parameter = "tie_policy") =>
        Enum.GetValues<TiePolicy>().FirstOrDefault(t => Name(t) == name, (TiePolicy)(-1)) is var t && t >= 0
            ? t : throw new ParameterException(parameter, $"'{name}'", $"must be one of {string.Join(", ", TiePolicies)}");

    /// <summary>The NaN rule called <paramref name="name"/>; a clear error naming <paramref name="parameter"/> otherwise.</summary>
    public static NanRule ParseNan(string name, string parameter = "nan_rule") =>
        Enum.GetValues<NanRule>().FirstOrDefault(n => Name(n) == name, (NanRule)(-1)) is var n && n >= 0
            ? n : throw new ParameterException(parameter, $"'{name}'", $"must be one of {string.Join(", ", NanRules)}");

    /// <summary>Whether NaN wins under <paramref name="n"/> (every rule but <see cref="NanRule.Ignore"/>).</summary>
    public static bool NanWins(this NanRule n) => n != NanRule.Ignore;
}
