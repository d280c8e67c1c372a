using System.Collections.Immutable;

namespace GradOracle.Layers;

/// <summary>
/// Where an answer that differs from the expected rule's falls, for an op whose gradient is a set at some
/// points: inside the valid set and allowed (by the declared or strict rule, or any valid choice), with the
/// conventions it follows; or not, with why.
/// </summary>
/// <param name="Allowed">The answer lies in the valid set and meets every required choice.</param>
/// <param name="Conventions">What the answer did where it differs from PyTorch's choice (a choice outside the set included, marked invalid).</param>
/// <param name="Problem">When not allowed: why, if the judgement can say (a choice outside the set, one a required rule forbids); null when the
/// differences have nothing to do with the op's kinks (an ordinary mismatch).</param>
/// <param name="Breaks">The situation whose required choice the answer, valid otherwise, does not follow; null when it is not that.</param>
public sealed record ConventionJudgement(bool Allowed, ImmutableArray<Convention> Conventions, string? Problem, string? Breaks = null)
{
    /// <summary>No situation of the op occurs where the answer differs: an ordinary mismatch.</summary>
    public static ConventionJudgement NotAConventionMatter { get; } = new(false, [], null);
}
