namespace GradOracle.Protocol;

/// <summary>The handshake's reply: who answers, in which precision, which ops.</summary>
public sealed record HelloResponse(long Id, int Protocol, string Name, string Dtype, IReadOnlyList<string> Ops) : Response(Id)
{
    /// <summary>What the implementation declares it does where a gradient is a set (situation key to choice, as sent); empty: nothing declared.</summary>
    public IReadOnlyDictionary<string, string> Conventions { get; init; } = new Dictionary<string, string>();

    /// <summary>The tensor encoding the implementation asks requests in: "json" (the default) or "base64".</summary>
    public string Encoding { get; init; } = "json";
}
