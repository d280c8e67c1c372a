namespace GradOracle;

/// <summary>
/// A parameter or input that breaks a rule of the operation. The message names the parameter, its value
/// and the rule, so that a user can fix the call without reading our source.
/// </summary>
public sealed class ParameterException : ArgumentException
{
    /// <summary>Creates the error for <paramref name="parameter"/> holding <paramref name="value"/>.</summary>
    public ParameterException(string parameter, string value, string rule)
        : base($"{parameter} = {value}: {rule}", parameter)
    {
        Value = value;
        Rule = rule;
    }

    /// <summary>The offending value, as text.</summary>
    public string Value { get; }

    /// <summary>The rule the value breaks.</summary>
    public string Rule { get; }

    /// <summary>The message without the framework's "(Parameter 'x')" suffix.</summary>
    public override string Message => $"{ParamName} = {Value}: {Rule}";
}
