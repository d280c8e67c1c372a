using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Protocol;

/// <summary>Run an op's forward and, with <paramref name="GradOutput"/>, its backward.</summary>
public sealed record RunRequest(long Id, string Op, OpAttributes Attributes, NamedTensors Inputs, Tensor? GradOutput) : Request(Id);
