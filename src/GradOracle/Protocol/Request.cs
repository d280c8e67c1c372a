namespace GradOracle.Protocol;

/// <summary>A request.</summary>
public abstract record Request(long Id);
