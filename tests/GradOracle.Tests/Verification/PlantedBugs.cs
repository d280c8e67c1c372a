using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Verification;

/// <summary>Buggy answers for tests, as the op's descriptor predicts them.</summary>
internal static class PlantedBugs
{
    /// <summary>The tensor the op's first known bug whose message holds <paramref name="message"/> gives.</summary>
    public static Tensor Predicted(IOp op, NamedTensors inputs, Tensor dy, string message) =>
        op.Descriptor.Bugs(op, inputs, dy).First(b => b.Message.Contains(message, StringComparison.Ordinal)).PredictTensor!()!;
}
