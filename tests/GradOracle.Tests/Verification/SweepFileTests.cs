using GradOracle.Verification;

namespace GradOracle.Tests.Verification;

public class SweepFileTests
{
    private static string Write(string json)
    {
        var path = Path.Combine(Path.GetTempPath(), $"gradoracle-sweep-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static SweepFile Load(string json) => SweepFile.Load(Write(json));

    private static string Refusal(string json) => Assert.Throws<ParameterException>(() => Load(json))!.Message;

    [Test]
    public void Every_combination_of_dims_attributes_and_shapes_is_one_case_with_the_shapes_filled_in()
    {
        var sweep = Load("""
            {"sweeps": [{"op": "conv2d", "dims": {"k": [1, 3], "c": [2]},
              "attributes": {"stride": [1, 2], "padding": [[1, 0]]},
              "shapes": [{"input": [1, "c", 6, 7], "weight": [3, "c", "k", "k"]}, {"input": [2, "c", 5, 5], "weight": [4, "c", "k", 1], "bias": [4]}]}]}
            """);
        Assert.That(sweep.CaseCount, Is.EqualTo(2 * 2 * 2));
        var cases = sweep.Cases(seed: 3).ToList();
        Assert.That(cases, Has.Count.EqualTo(8));
        Assert.That(cases.All(c => c.Refused is null), string.Join("; ", cases.Select(c => c.Refused)));
        Assert.That(cases[0].Id, Is.EqualTo("sweep/conv2d/input=1x2x6x7;weight=3x2x1x1/stride=1;padding=[1,0]"));
        var last = cases[^1];
        Assert.That(last.Id, Is.EqualTo("sweep/conv2d/input=2x2x5x5;weight=4x2x3x1;bias=4/stride=2;padding=[1,0]"));
        Assert.That(last.Inputs()["weight"].Shape.Slice(0), Is.EqualTo(new[] { 4, 2, 3, 1 }));
        Assert.That(last.Op!.Attributes.ToString(), Does.Contain("stride=[2, 2]").And.Contain("padding=[1, 0]"));
    }

    [Test]
    public void The_example_sweep_describes_every_kernel_and_stride_on_both_production_shapes()
    {
        var sweep = SweepFile.Load(Path.Combine(Tools.Root, "examples", "sweeps", "conv2d.json"));
        Assert.That(sweep.CaseCount, Is.EqualTo(4 * 2 * 2));
        var ids = sweep.Cases(1).Select(c => c.Id).ToList();
        Assert.That(ids, Does.Contain("sweep/conv2d/input=32x64x56x56;weight=64x64x7x7;bias=64/stride=2;padding=0"));
        Assert.That(ids, Does.Contain("sweep/conv2d/input=8x3x224x224;weight=64x3x1x1;bias=64/stride=1;padding=0"));
        // Past the default --max-elements (6.4 million inputs), a case is refused with the limit's own message, not a crash of
        // the run; 8x3x224x224 (1.2 million) is within it.
        var cases = sweep.Cases(1).ToList();
        Assert.That(cases.Where(c => c.Id.Contains("input=32x64x56x56")).Select(c => c.Refused), Has.All.Matches<string?>(r => r is not null && r.Contains("more than the limit of 2,097,152 (--max-elements raises it)")));
        Assert.That(cases.Where(c => c.Id.Contains("input=8x3x224x224")).Select(c => c.Refused), Has.All.Null);
    }

    [Test]
    public void Data_is_seeded_by_the_run_seed_and_the_case()
    {
        const string json = """{"sweeps": [{"op": "relu", "shapes": [{"input": [3, 4]}, {"input": [4, 3]}]}]}""";
        var a = Load(json).Cases(1).ToList();
        var b = Load(json).Cases(1).ToList();
        var c = Load(json).Cases(2).ToList();
        Assert.That(a[0].Inputs()["input"].ToArray(), Is.EqualTo(b[0].Inputs()["input"].ToArray()));
        Assert.That(a[0].Inputs()["input"].ToArray(), Is.Not.EqualTo(c[0].Inputs()["input"].ToArray()));
        Assert.That(a[0].Inputs()["input"].ToArray(), Is.Not.EqualTo(a[1].Inputs()["input"].ToArray()));
    }

    [Test]
    public void A_combination_the_op_refuses_comes_with_the_reason_and_the_others_still_run()
    {
        var cases = Load("""{"sweeps": [{"op": "conv2d", "attributes": {"stride": [1, 2], "padding": ["same"]}, "shapes": [{"input": [1, 1, 5, 5], "weight": [1, 1, 3, 3]}]}]}""").Cases(1).ToList();
        Assert.That(cases[0].Refused, Is.Null);
        Assert.That(cases[1].Refused, Does.Contain("padding").And.Contain("needs stride 1"));
        var wide = Load("""{"sweeps": [{"op": "conv2d", "shapes": [{"input": [1, 1, 2, 2], "weight": [1, 1, 3, 3]}]}]}""").Cases(1).Single();
        Assert.That(wide.Refused, Is.Null, "shapes are checked when the case's inputs are made");
        Assert.That(Assert.Throws<ParameterException>(() => wide.Inputs())!.Message, Does.Contain("kernel size 3"));
    }

    [Test]
    public void Class_index_inputs_are_filled_below_the_class_count()
    {
        var c = Load("""{"sweeps": [{"op": "cross_entropy", "shapes": [{"input": [50, 7], "target": [50]}]}]}""").Cases(1).Single();
        var target = c.Inputs()["target"].ToArray();
        Assert.That(target, Has.All.InRange(0, 6));
        Assert.That(target.All(t => t == Math.Floor(t)));
        Assert.That(target.Distinct().Count(), Is.GreaterThan(3));
    }

    [TestCase("""{"sweep": []}""", "$.sweep: is not a member of a sweep file")]
    [TestCase("""{"sweeps": []}""", "$.sweeps: must be a non-empty list")]
    [TestCase("""{"sweeps": [{"op": "conv9d", "shapes": [{"input": [1]}]}]}""", "$.sweeps[0].op: 'conv9d' is not an op GradOracle knows")]
    [TestCase("""{"sweeps": [{"op": "conv2d", "attributes": {"dilatoin": [1]}, "shapes": [{"input": [1, 1, 3, 3], "weight": [1, 1, 1, 1]}]}]}""", "$.sweeps[0].attributes.dilatoin: is not an attribute of conv2d")]
    [TestCase("""{"sweeps": [{"op": "conv2d", "attributes": {"stride": 2}, "shapes": [{"input": [1, 1, 3, 3], "weight": [1, 1, 1, 1]}]}]}""", "$.sweeps[0].attributes.stride: must be a non-empty list of the values swept")]
    [TestCase("""{"sweeps": [{"op": "conv2d", "shapes": [{"input": [1, 1, "k", 3], "weight": [1, 1, 1, 1]}]}]}""", "$.sweeps[0].shapes[0].input[2]: 'k' is not one of the sweep's dims (it has none)")]
    [TestCase("""{"sweeps": [{"op": "conv2d", "shapes": [{"input": [1, 1, 3, 3]}]}]}""", "$.sweeps[0].shapes[0].weight: is required: conv2d takes it")]
    [TestCase("""{"sweeps": [{"op": "relu", "shapes": [{"input": [1], "weight": [1]}]}]}""", "$.sweeps[0].shapes[0].weight: is not an input of relu")]
    [TestCase("""{"sweeps": [{"op": "relu", "dims": {"n": [-1]}, "shapes": [{"input": ["n"]}]}]}""", "$.sweeps[0].dims.n[0]: must be a non-negative integer")]
    [TestCase("""{"sweeps": [{"op": "relu", "dims": {"a": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "b": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "c": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "d": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "e": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "f": [1, 2]}, "shapes": [{"input": ["a"]}]}]}""", "describes 200,000 cases, more than the 100,000 one run takes")]
    [TestCase("""{"sweeps": [}""", "is not valid JSON")]
    public void A_bad_sweep_file_is_refused_naming_the_member_and_the_rule(string json, string message)
    {
        var text = Refusal(json);
        Assert.That(text, Does.StartWith("--sweep"));
        Assert.That(text, Does.Contain(message));
    }
}
