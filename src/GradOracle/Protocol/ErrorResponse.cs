namespace GradOracle.Protocol;

/// <summary>The implementation reports an error for this request.</summary>
public sealed record ErrorResponse(long Id, string Message) : Response(Id);
