using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// The bugs of a layer whose weight and bias gradients are sums over the batch (convolution, transposed convolution):
/// a mean-loss division baked into the layer, and a bias gradient of the first sample only.
/// </summary>
internal static class BatchSumBugs
{
    /// <summary>The hypotheses for <paramref name="op"/> at these inputs; the bias ones only when it takes a bias.</summary>
    public static IEnumerable<BugHypothesis> Of(IOp op, NamedTensors inputs, Tensor dy, bool hasBias)
    {
        int batch = inputs["input"].Shape[0];
        if (batch < 2) yield break; // one sample: a sum over the batch is that sample's, and a mean divides by 1
        yield return BugHypothesis.InTensor("grads.weight", $"weight gradient divided by the batch size {batch} (a mean-loss convention baked into the layer)",
            () => op.Backward(inputs, dy)["weight"].Scaled(1.0 / batch));
        if (!hasBias) yield break;
        yield return BugHypothesis.InTensor("grads.bias", "bias gradient misses the sum over the batch (first sample only)", () =>
        {
            int per = dy.Count / batch;
            return op.Backward(inputs, Tensor.Create(dy.Shape, i => i < per ? dy.At(i) : 0))["bias"];
        });
        yield return BugHypothesis.InTensor("grads.bias", $"bias gradient divided by the batch size {batch}",
            () => op.Backward(inputs, dy)["bias"].Scaled(1.0 / batch));
    }
}
