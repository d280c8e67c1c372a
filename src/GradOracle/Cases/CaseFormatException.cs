namespace GradOracle.Cases;

/// <summary>A reference case (or protocol message) that does not follow the format; names the JSON path.</summary>
public sealed class CaseFormatException(string path, string problem) : Exception($"{path}: {problem}")
{
    /// <summary>Where in the document, e.g. "expected.grads.input.data[3]".</summary>
    public string Path { get; } = path;
}
