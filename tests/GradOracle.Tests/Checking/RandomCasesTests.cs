using GradOracle.Checking;
using GradOracle.Layers;

namespace GradOracle.Tests.Checking;

/// <summary>Random cases are reproducible, drawn in proportion to their ops' weights, and stable as ops are added.</summary>
public class RandomCasesTests
{
    private static readonly OpDescriptor[] Drawn = [.. OpFactory.Descriptors.Where(d => d.DrawWeight > 0)];

    [Test]
    public void The_same_seed_gives_the_same_cases()
    {
        var a = RandomCases.Generate(11, 200).Select(c => c.Configuration).ToList();
        var b = RandomCases.Generate(11, 200).Select(c => c.Configuration).ToList();
        Assert.That(b, Is.EqualTo(a));
        Assert.That(RandomCases.Generate(12, 200).Select(c => c.Configuration), Is.Not.EqualTo(a));
    }

    [Test]
    public void A_longer_run_begins_with_the_shorter_one()
    {
        var shorter = RandomCases.Generate(3, 50).Select(c => c.Configuration);
        var longer = RandomCases.Generate(3, 120).Take(50).Select(c => c.Configuration);
        Assert.That(longer, Is.EqualTo(shorter));
    }

    [Test]
    public void An_added_op_takes_only_the_cases_it_wins()
    {
        var without = Drawn.Where(d => d.Name != "relu6").ToArray();
        var before = RandomCases.Generate(9, 600, without).Select(Describe).ToList();
        var after = RandomCases.Generate(9, 600, Drawn).Select(Describe).ToList();
        int taken = 0;
        for (int k = 0; k < before.Count; k++)
        {
            if (after[k].StartsWith("relu6", StringComparison.Ordinal)) { taken++; continue; }
            Assert.That(after[k], Is.EqualTo(before[k]), $"case {k} changed though relu6 did not win it");
        }
        Assert.That(taken, Is.GreaterThan(0), "relu6 won no case: the test shows nothing");
    }

    [Test]
    public void Ops_are_chosen_in_proportion_to_their_weights()
    {
        const int draws = 40_000;
        var counts = Drawn.ToDictionary(d => d, _ => 0);
        for (ulong s = 0; s < draws; s++) counts[RandomCases.Choose(s * 0x9E3779B97F4A7C15UL + 7, Drawn)]++;
        double total = Drawn.Sum(d => d.DrawWeight);
        foreach (var (d, n) in counts)
        {
            double p = d.DrawWeight / total, expected = draws * p;
            double sd = Math.Sqrt(draws * p * (1 - p));
            Assert.That(n, Is.InRange(expected - 5 * sd, expected + 5 * sd), $"{d.Name}: {n} of {draws}, expected {expected:F0}");
        }
    }

    private static string Describe(CheckCase c) => $"{c.Op.Descriptor.Name} {c.Configuration}";
}
