namespace GradOracle.Torch;

/// <summary>One compared tensor: output, a gradient, or max pooling's indices.</summary>
/// <param name="Tensor">"output", "grad.input", "indices", ...</param>
/// <param name="Exact">Compared bit for bit (selections) rather than within the relative tolerance.</param>
/// <param name="WorstAbsolute">Largest |oracle - libtorch| over finite elements.</param>
/// <param name="WorstRelative">That, divided by the largest |libtorch| element of the tensor, or for a gradient of
/// the case's gradients (normwise relative difference; a gradient that cancels to almost nothing keeps
/// rounding noise the size of the terms that cancelled).</param>
/// <param name="Agree">Within tolerance, with NaN at the same places.</param>
/// <param name="Detail">The worst element when they disagree.</param>
public sealed record TensorParity(string Tensor, bool Exact, double WorstAbsolute, double WorstRelative, bool Agree, string? Detail);
