using GradOracle.Torch;

namespace GradOracle.Tests.Torch;

/// <summary>
/// Tests that need libtorch: skipped with the install command on a machine without it, failed when
/// GRADORACLE_REQUIRE_TORCH=1 (which .ci/run sets after installing libtorch).
/// </summary>
internal static class TorchRequirement
{
    public static void Ensure()
    {
        var a = TorchBridge.Availability;
        if (a.IsAvailable) return;
        if (Environment.GetEnvironmentVariable("GRADORACLE_REQUIRE_TORCH") == "1")
            Assert.Fail($"GRADORACLE_REQUIRE_TORCH=1 but {a.Message}");
        Assert.Ignore(a.Message);
    }
}
