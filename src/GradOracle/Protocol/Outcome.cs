namespace GradOracle.Protocol;

/// <summary>What became of one request.</summary>
public abstract record Outcome
{
    /// <summary>A well-formed response with the request's id.</summary>
    public sealed record Answered(Response Response) : Outcome;

    /// <summary>No usable response: crashed, hung, garbage, wrong id.</summary>
    public sealed record Failed(string Kind, string Reason) : Outcome;
}
