namespace GradOracle.Layers;

/// <summary>
/// Where libtorch's float64 answer for an op is coarser than float64 rounding, from a cause read in its source
/// (a constant rounded to float32): the normwise relative error its answers may carry, and that cause.
/// </summary>
/// <param name="Relative">The bound on libtorch's relative error, from the cause.</param>
/// <param name="Why">The cause, for reports.</param>
public sealed record TorchKnownError(double Relative, string Why);
