namespace GradOracle.Protocol;

/// <summary>An engine's own refusal of a request (libtorch's shape check, say): answered as an error reply with its message, not as an internal error.</summary>
public class EngineException(string message) : Exception(message);
