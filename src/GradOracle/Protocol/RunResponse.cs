using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Protocol;

/// <summary>Output, gradients and, when sent, the extra outputs (batch norm's updated running statistics).</summary>
public sealed record RunResponse(long Id, Tensor Output, NamedTensors? Grads, NamedTensors? Extras = null) : Response(Id);
