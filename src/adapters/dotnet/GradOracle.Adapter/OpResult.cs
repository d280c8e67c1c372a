namespace GradOracle.Adapter;

/// <summary>What an op returns: its output and, when grad_output was sent, the gradient of each differentiable input by name.</summary>
public sealed record OpResult(ProtocolTensor Output, IReadOnlyDictionary<string, ProtocolTensor>? Grads = null);
