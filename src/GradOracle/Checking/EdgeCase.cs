using GradOracle.Layers;

namespace GradOracle.Checking;

/// <summary>One case of an edge sweep: its op at one dimension's edge size (<see cref="EdgeCases"/>).</summary>
/// <param name="Seed">The sweep's seed.</param>
/// <param name="Op">The op's name (conv2d).</param>
/// <param name="Axis">The dimension set to the edge size: N, C, or a spatial one (L; H, W; D, H, W).</param>
/// <param name="Size">Its size.</param>
/// <param name="Case">The case.</param>
public sealed record EdgeCase(int Seed, string Op, string Axis, int Size, CheckCase Case)
{
    /// <summary>The case's id in a verify run: <c>edges/&lt;seed&gt;/&lt;op&gt;/&lt;axis&gt;=&lt;size&gt;</c>.</summary>
    public string Id => $"edges/{Seed}/{Op}/{Axis}={Size}";
}
