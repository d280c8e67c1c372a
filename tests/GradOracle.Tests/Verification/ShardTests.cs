using GradOracle.Verification;

namespace GradOracle.Tests.Verification;

public class ShardTests
{
    [Test]
    public void Parse_reads_i_of_n_and_holds_every_nth_item()
    {
        var s = Shard.Parse("2/3");
        Assert.That((s.Index, s.Count, s.ToString()), Is.EqualTo((2, 3, "2/3")));
        Assert.That(Enumerable.Range(0, 7).Where(s.Holds), Is.EqualTo(new[] { 1, 4 }));
    }

    [TestCase("0/2")]
    [TestCase("3/2")]
    [TestCase("1/0")]
    [TestCase("1")]
    [TestCase("a/b")]
    [TestCase("-1/2")]
    public void Parse_refuses_what_is_not_i_of_n_with_i_in_range(string text)
    {
        var x = Assert.Throws<ParameterException>(() => Shard.Parse(text))!;
        Assert.That(x.Message, Does.StartWith($"--shard = {text}").And.Contain("1 <= i <= n"));
    }
}
