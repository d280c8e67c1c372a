namespace GradOracle.Cases;

/// <summary>What <see cref="CaseStore.LoadAll"/> found: the cases that loaded, and every file that did not with the reason.</summary>
/// <param name="Cases">The cases that follow the format, stand at their id's place and that the oracle can run, in file order.</param>
/// <param name="Bad">Every other file: its path and one line saying what is wrong ("format: tolerances.output.atol: must be ...").</param>
public sealed record CaseLoad(IReadOnlyList<ReferenceCase> Cases, IReadOnlyList<(string Path, string Reason)> Bad);
