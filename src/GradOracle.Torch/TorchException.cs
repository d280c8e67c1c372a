namespace GradOracle.Torch;

/// <summary>An error libtorch reported (its own message, e.g. a shape check).</summary>
public sealed class TorchException(string message) : Protocol.EngineException(message);
