namespace GradOracle.Torch;

/// <summary>Whether libtorch can be used, and if not why and how to get it.</summary>
/// <param name="IsAvailable">libtorch loaded and answered.</param>
/// <param name="Version">libtorch's version when available (2.10.0).</param>
/// <param name="Message">Why it is unavailable, with what to do; or which version answered and how long loading took.</param>
/// <param name="LoadSeconds">How long loading libtorch took, when it loaded.</param>
public sealed record TorchAvailability(bool IsAvailable, string? Version, string Message, double LoadSeconds = 0);
