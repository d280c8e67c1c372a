using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>One tensor of a case as the oracle expected it and as the implementation answered it.</summary>
public sealed record ExpectedAndActual(Tensor Expected, Tensor Actual);
