using GradOracle.Checking;
using GradOracle.Cases;

namespace GradOracle.Tests.Cases;

/// <summary>The generator's sources: random configurations carry a seed of their own, so their place in the list does not matter.</summary>
public class CaseGeneratorTests
{
    [Test]
    public void Every_random_source_and_op_example_is_seeded_by_its_content_and_distinct_sources_by_different_seeds()
    {
        // Seeded by content, an op's new example or a new op's random wins leave every other case's grad_output as it was.
        var seeded = CaseGenerator.Sources().Where(s => s.Seed is not null).ToList();
        Assert.That(seeded, Has.Count.EqualTo(64 + CheckSuite.Examples().Count));
        Assert.That(seeded.Select(s => s.Seed), Is.Unique);
        var again = CaseGenerator.Sources().Where(s => s.Seed is not null).Select(s => s.Seed);
        Assert.That(again, Is.EqualTo(seeded.Select(s => s.Seed)));
    }
}
