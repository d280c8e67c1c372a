namespace GradOracle.Cases;

/// <summary>What `gradoracle cases verify` found in one file.</summary>
public sealed record CaseVerification(string Path, string? Id, IReadOnlyList<string> Problems)
{
    /// <summary>No problem found.</summary>
    public bool Passed => Problems.Count == 0;
}
