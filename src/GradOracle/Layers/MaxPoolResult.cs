using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>The output of max pooling with the recorded argmax of each window.</summary>
/// <param name="Output">Pooled values, (N, C, *output size).</param>
/// <param name="Indices">Per window, the recorded input position as a flat index into its (N, C) input plane, as PyTorch returns it.</param>
public sealed record MaxPoolResult(Tensor Output, IndexTensor Indices);
