namespace GradOracle.Protocol;

/// <summary>The handshake.</summary>
public sealed record HelloRequest(long Id, int Protocol) : Request(Id)
{
    /// <summary>The tensor encodings the sender reads and can send ("json", "base64"); ["json"] when it names none.</summary>
    public IReadOnlyList<string> Encodings { get; init; } = ["json"];
}
