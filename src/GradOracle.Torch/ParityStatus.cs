namespace GradOracle.Torch;

/// <summary>How the oracle and libtorch compare on one case.</summary>
public enum ParityStatus
{
    /// <summary>Every tensor agrees (or both refuse the configuration).</summary>
    Agree,
    /// <summary>Some tensor differs beyond its tolerance, or only one side refuses.</summary>
    Disagree,
    /// <summary>libtorch has no counterpart for this op or mode.</summary>
    NoCounterpart,
}
