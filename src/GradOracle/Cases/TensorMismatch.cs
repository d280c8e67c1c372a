using System.Collections.Immutable;
using GradOracle.Tensors;

namespace GradOracle.Cases;

/// <summary>One expected tensor that does not match: how many elements, the worst ones, or a shape problem.</summary>
public sealed record TensorMismatch(string Tensor, CaseTolerance Tolerance, int Count, int Total, ImmutableArray<ElementMismatch> Worst, string? Problem);
