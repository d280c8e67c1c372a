using GradOracle.Tensors;
using GradOracle.Verification;

namespace GradOracle.Tests.Verification;

public class ElementSampleTests
{
    [Test]
    public void A_feature_map_sample_holds_the_whole_3x3_corner_blocks_of_the_first_and_last_planes()
    {
        var shape = Shape.Of(2, 3, 10, 12);
        var s = ElementSample.Draw([("input", shape)], count: 5, _ => 1);
        int Flat(int n, int c, int h, int w) => ((n * 3 + c) * 10 + h) * 12 + w;
        foreach (var (n, c) in new[] { (0, 0), (1, 2) })
            foreach (int h in new[] { 0, 1, 2, 7, 8, 9 })
                foreach (int w in new[] { 0, 1, 2, 9, 10, 11 })
                    Assert.That(s.Contains("input", Flat(n, c, h, w)), $"({n}, {c}, {h}, {w})");
        Assert.That(s.Count, Is.EqualTo(2 * 36 + 5), "the corner blocks and five more");
    }

    [Test]
    public void Small_tensors_are_sampled_whole_and_other_inputs_have_their_own_sample()
    {
        var s = ElementSample.Draw([("bias", Shape.Of(4)), ("weight", Shape.Of(2, 2, 1, 1))], count: 16, name => name.Length);
        Assert.That(Enumerable.Range(0, 4).All(i => s.Contains("bias", i)));
        Assert.That(Enumerable.Range(0, 4).All(i => s.Contains("weight", i)));
        Assert.That(s.Contains("input", 0), Is.False);
        Assert.That(s.Count, Is.EqualTo(8));
    }
}
