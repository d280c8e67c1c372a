namespace GradOracle.Cases;

/// <summary>A case the generator will not write: what disagreed.</summary>
public sealed class CaseRefusedException(string caseId, string reason) : Exception($"{caseId}: {reason}")
{
    /// <summary>The refused case.</summary>
    public string CaseId { get; } = caseId;
}
