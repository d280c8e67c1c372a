namespace GradOracle.Protocol;

/// <summary>A response.</summary>
public abstract record Response(long Id);
