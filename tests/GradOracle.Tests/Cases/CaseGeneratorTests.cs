using GradOracle.Cases;

namespace GradOracle.Tests.Cases;

/// <summary>The generator's sources: random configurations carry a seed of their own, so their place in the list does not matter.</summary>
public class CaseGeneratorTests
{
    [Test]
    public void Every_random_source_is_seeded_by_its_content_and_distinct_sources_by_different_seeds()
    {
        var seeded = CaseGenerator.Sources().Where(s => s.Seed is not null).ToList();
        Assert.That(seeded, Has.Count.EqualTo(64));
        Assert.That(seeded.Select(s => s.Seed), Is.Unique);
        var again = CaseGenerator.Sources().Where(s => s.Seed is not null).Select(s => s.Seed);
        Assert.That(again, Is.EqualTo(seeded.Select(s => s.Seed)));
    }
}
