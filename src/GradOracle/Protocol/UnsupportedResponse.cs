namespace GradOracle.Protocol;

/// <summary>The implementation does not support this op or configuration.</summary>
public sealed record UnsupportedResponse(long Id) : Response(Id)
{
    /// <summary>Why, when the implementation says.</summary>
    public string? Reason { get; init; }
}
