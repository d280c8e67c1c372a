namespace GradOracle.Layers;

/// <summary>The libtorch function that computes an op, and the attributes it is called with.</summary>
/// <param name="Function">The torch.nn.functional name (global pooling is adaptive pooling to size 1).</param>
/// <param name="Attributes">The attributes libtorch is given.</param>
public sealed record TorchEquivalent(string Function, OpAttributes Attributes);
