using GradOracle.Verification;

namespace GradOracle.Tests.Verification;

public class VerifyConfigTests : TempDirectoryFixture
{
    private string Write(string json)
    {
        var path = Path.Combine(Dir, VerifyConfig.FileName);
        File.WriteAllText(path, json);
        return path;
    }

    [Test]
    public void A_config_is_read_with_comments_and_its_cases_path_is_taken_from_its_folder()
    {
        Directory.CreateDirectory(Path.Combine(Dir, "golden"));
        var c = VerifyConfig.Load(Write("""
            {
              // the layers under test
              "impl": "python3 layers.py", "cases": "golden", "seed": 7, "random": 50, "strict": true, "timeout": 3,
              "known_failures": [{"case": "max_pool2d/*", "reason": "ties not done"}],
            }
            """));
        Assert.That((c.Impl, c.Seed, c.Random, c.Strict, c.Timeout), Is.EqualTo(("python3 layers.py", (int?)7, (int?)50, (bool?)true, (double?)3)));
        Assert.That(c.Cases, Is.EqualTo(Path.Combine(Dir, "golden")));
        Assert.That(c.KnownFailures, Is.EqualTo(new[] { new KnownFailure("max_pool2d/*", "ties not done") }));
    }

    [Test]
    public void Edges_and_a_sweep_file_taken_from_the_files_folder_are_read()
    {
        File.WriteAllText(Path.Combine(Dir, "s.json"), """{"sweeps": [{"op": "relu", "shapes": [{"input": [3]}]}]}""");
        var c = VerifyConfig.Load(Write("""{"edges": true, "sweep": "s.json"}"""));
        Assert.That(c.Edges, Is.True);
        Assert.That(c.Sweep, Is.EqualTo(Path.Combine(Dir, "s.json")));
    }

    [TestCase("""{"imp": "x"}""", "--config = ", "imp")]
    [TestCase("""{"sweep": "nowhere.json"}""", "sweep = ", "is not an existing file")]
    [TestCase("""{"random": -1}""", "random = -1: must be at least 0", "")]
    [TestCase("""{"timeout": 0}""", "timeout = 0: must be a finite number of seconds above 0", "")]
    [TestCase("""{"known_failures": [{"case": "relu/*"}]}""", "known_failures[0].reason = null: must say why", "")]
    [TestCase("""{"known_failures": [{"case": " ", "reason": "r"}]}""", "known_failures[0].case =  : must name a case id", "")]
    [TestCase("""{"impl": 3}""", "is not a valid gradoracle.json", "impl")]
    [TestCase("""{"cases": "missing"}""", "cases = ", "is not an existing directory")]
    public void A_config_that_breaks_a_rule_is_refused_naming_the_field(string json, string message, string field)
    {
        var e = Assert.Throws<ParameterException>(() => VerifyConfig.Load(Write(json)));
        Assert.That(e!.Message, Does.Contain(message).And.Contain(field));
    }
}
