using GradOracle.Checking;

namespace GradOracle.Tests.Checking;

public class EdgeCasesTests
{
    private static readonly List<EdgeCase> Seed1 = [.. EdgeCases.Generate(1)];

    [Test]
    public void Every_case_holds_its_edge_size_and_its_id_names_op_axis_and_size()
    {
        Assert.That(Seed1, Has.Count.GreaterThan(1000));
        foreach (var e in Seed1)
        {
            Assert.That(e.Case.Inputs.Items.Any(t => t.Value.Shape.Slice(0).Contains(e.Size)), e.Id);
            Assert.That(e.Id, Is.EqualTo($"edges/1/{e.Case.Op.Name}/{e.Axis}={e.Size}"));
        }
        Assert.That(Seed1.Select(e => e.Id).Distinct().Count(), Is.EqualTo(Seed1.Count), "one case per (op, axis, size)");
    }

    [Test]
    public void Conv2d_runs_every_spatial_size_in_both_dimensions_and_every_channel_count_on_both_sides()
    {
        var conv = Seed1.Where(e => e.Op == "conv2d").ToList();
        foreach (var axis in new[] { "H", "W" })
        {
            var sizes = conv.Where(e => e.Axis == axis).Select(e => e.Size).ToList();
            Assert.That(sizes, Is.EqualTo(EdgeCases.SpatialSizes), axis);
            int dim = axis == "H" ? 2 : 3;
            Assert.That(conv.Where(e => e.Axis == axis).All(e => e.Case.Inputs["input"].Shape[dim] == e.Size), axis);
        }
        foreach (var e in conv.Where(e => e.Axis == "C"))
        {
            Assert.That(e.Case.Inputs["input"].Shape[1], Is.EqualTo(e.Size), "input channels");
            Assert.That(e.Case.Inputs["weight"].Shape[0], Is.EqualTo(e.Size), "output channels");
        }
        Assert.That(conv.Where(e => e.Axis == "N").Select(e => e.Case.Inputs["input"].Shape[0]), Is.EqualTo(EdgeCases.BatchSizes));
    }

    [Test]
    public void The_same_seed_gives_the_same_cases_and_another_seed_other_data()
    {
        var again = EdgeCases.Generate(1).Take(50).ToList();
        var other = EdgeCases.Generate(2).Take(50).ToList();
        for (int i = 0; i < 50; i++)
        {
            Assert.That(again[i].Id, Is.EqualTo(Seed1[i].Id));
            Assert.That(again[i].Case.Inputs.Items.First().Value.ToArray(), Is.EqualTo(Seed1[i].Case.Inputs.Items.First().Value.ToArray()));
        }
        Assert.That(Enumerable.Range(0, 50).Any(i => !other[i].Case.Inputs.Items.First().Value.ToArray().SequenceEqual(Seed1[i].Case.Inputs.Items.First().Value.ToArray())));
    }

    [Test]
    public void Ranked_ops_are_swept_at_every_rank_and_rank_3_names_its_axes_D_H_W()
    {
        Assert.That(Seed1.Where(e => e.Op is "max_pool1d").Select(e => e.Axis).Distinct(), Is.EquivalentTo(new[] { "N", "C", "L" }));
        Assert.That(Seed1.Where(e => e.Op is "avg_pool3d").Select(e => e.Axis).Distinct(), Is.EquivalentTo(new[] { "N", "C", "D", "H", "W" }));
    }
}
