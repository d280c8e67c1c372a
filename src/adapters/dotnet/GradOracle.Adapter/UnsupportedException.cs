namespace GradOracle.Adapter;

/// <summary>Thrown by an op for a configuration it does not implement; the reason reaches the report.</summary>
public sealed class UnsupportedException(string reason) : Exception(reason);
