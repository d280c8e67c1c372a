namespace GradOracle.Protocol;

/// <summary>The implementation could not be run at all (exit code 3 of verify).</summary>
public sealed class ImplementationUnavailableException(string message) : Exception(message);
