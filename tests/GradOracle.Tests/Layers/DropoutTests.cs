using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

/// <summary>dropout with its mask given: the inverted scale in training, the identity in evaluation, and the mask's rule.</summary>
public class DropoutTests
{
    private static NamedTensors In => new(("input", T.Of([4], 1, 2, 3, 4)), ("mask", T.Of([4], 1, 0, 1, 1)));

    [Test]
    public void Training_keeps_the_masked_elements_scaled_by_one_over_one_minus_p()
    {
        var op = new Dropout(0.75);
        Assert.That(op.Forward(In).ToArray(), Is.EqualTo(new double[] { 4, 0, 12, 16 }));
        Assert.That(op.Backward(In, T.Of([4], 1, 1, 1, 1))["input"].ToArray(), Is.EqualTo(new double[] { 4, 0, 4, 4 }));
    }

    [Test]
    public void Evaluation_is_the_identity_and_p_1_drops_everything()
    {
        Assert.That(new Dropout(0.75, training: false).Forward(In).ToArray(), Is.EqualTo(new double[] { 1, 2, 3, 4 }));
        Assert.That(new Dropout(1).Forward(In).ToArray(), Is.EqualTo(new double[] { 0, 0, 0, 0 }));
    }

    [Test]
    public void A_mask_other_than_0_and_1_or_a_p_outside_0_1_is_refused()
    {
        var ex = Assert.Throws<ParameterException>(() => new Dropout().Forward(In.With("mask", T.Of([4], 1, 0.5, 1, 1))));
        Assert.That(ex!.Message, Does.Contain("mask[1]").And.Contain("must be 0 (dropped) or 1 (kept)"));
        Assert.Throws<ParameterException>(() => new Dropout(1.5));
    }
}
