using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Protocol;

/// <summary>Output and gradients.</summary>
public sealed record RunResponse(long Id, Tensor Output, NamedTensors? Grads) : Response(Id);
