using System.Collections.Immutable;
using GradOracle.Verification;

namespace GradOracle.Tests.Verification;

public class SizeDependenceTests
{
    private static CaseResult Case(string axis, int size, bool pass, string op = "conv2d") =>
        new($"edges/1/{op}/{axis}={size}", op, "", "edges", pass ? CaseStatus.Pass : CaseStatus.Fail, "", [], [], [], "", 0);

    private static readonly int[] Sizes = [1, 2, 7, 8, 9, 31, 32, 33, 63, 64, 65, 127, 128, 129];

    [Test]
    public void A_dropped_partial_tile_is_named_with_its_tile_and_the_smallest_failing_size()
    {
        var cases = Sizes.Select(s => Case("W", s, pass: !(s > 32 && s % 32 != 0))).Append(Case("H", 33, true)).ToList();
        var f = SizeDependence.Findings(cases);
        Assert.That(f, Has.Count.EqualTo(1));
        Assert.That(f[0], Does.StartWith("size-dependent failure: conv2d fails with W in {33, 63, 65, 127, 129} and passes with W in {1, 2, 7, 8, 9, 31, 32, 64, 128}"));
        Assert.That(f[0], Does.Contain("smallest failing size W=33 (edges/1/conv2d/W=33), largest passing size below it W=32"));
        Assert.That(f[0], Does.Contain("exactly the sizes above 32 that 32 does not divide fail"));
    }

    [Test]
    public void Failures_from_a_size_on_are_said_as_a_threshold()
    {
        var f = SizeDependence.Findings([.. Sizes.Select(s => Case("C", s, pass: s <= 63))]);
        Assert.That(f.Single(), Does.EndWith("exactly the sizes above 63 fail"));
    }

    [Test]
    public void Failing_everywhere_but_at_the_smallest_sizes_is_no_threshold()
    {
        // libtorch's hardsigmoid fails wherever an element lies inside (-3, 3): all but the one-element case.
        var f = SizeDependence.Findings([.. Sizes.Select(s => Case("H", s, pass: s <= 2, op: "hardsigmoid"))]);
        Assert.That(f.Single(), Does.StartWith("failures at some sizes: hardsigmoid fails with H in {7, 8"));
    }

    [Test]
    public void Failures_no_size_rule_fits_are_not_called_size_dependent()
    {
        var f = SizeDependence.Findings([.. Sizes.Select(s => Case("W", s, pass: s is not (7 or 64)))]);
        Assert.That(f.Single(), Does.StartWith("failures at some sizes: conv2d fails with W in {7, 64}"));
        Assert.That(f.Single(), Does.Contain("no size rule fits them, so they may depend on the cases' data instead"));
    }

    [Test]
    public void An_op_that_fails_or_passes_at_every_size_gives_no_finding()
    {
        Assert.That(SizeDependence.Findings([.. Sizes.Select(s => Case("W", s, pass: false)), .. Sizes.Select(s => Case("H", s, pass: true))]), Is.Empty);
    }
}
