namespace GradOracle.Protocol;

/// <summary>The handshake.</summary>
public sealed record HelloRequest(long Id, int Protocol) : Request(Id);
