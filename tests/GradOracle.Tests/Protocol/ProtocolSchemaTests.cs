using GradOracle.Cases;
using GradOracle.Protocol;
using GradOracle.Tests.Torch;
using GradOracle.Tests.Verification;
using GradOracle.Torch;

namespace GradOracle.Tests.Protocol;

/// <summary>Every message GradOracle writes conforms to docs/protocol.schema.json, as JsonSchema.Net evaluates it.</summary>
public class ProtocolSchemaTests
{
    private static readonly CommittedSchema Schema = CommittedSchema.Load(Path.Combine(Tools.Root, "docs", "protocol.schema.json"));

    private static readonly string[] Requests =
    [
        """{"id": 1, "type": "hello", "protocol": 1}""",
        """{"id": 2, "type": "run", "op": "max_pool2d", "attrs": {"kernel_size": [2, 2]}, "inputs": {"input": {"shape": [1, 1, 2, 2], "data": [1, "NaN", 2, -0.0]}}, "grad_output": {"shape": [1, 1, 1, 1], "data": [3]}}""",
        """{"id": 3, "type": "run", "op": "conv2d", "attrs": {}, "inputs": {"input": {"shape": [1, 3, 1, 1], "data": [0, 0, 0]}, "weight": {"shape": [1, 2, 1, 1], "data": [1, 1]}}}""",
        """{"id": 4, "type": "run", "op": "max_pool1d", "attrs": {"kernel_size": [2], "tie_policy": "split"}, "inputs": {"input": {"shape": [1, 1, 2], "data": [1, 1]}}}""",
        """{"id": 5, "type": "run", "op": "stochastic_pool2d", "attrs": {"kernel_size": [2, 2]}, "inputs": {"input": {"shape": [1, 1, 2, 2], "data": [1, 2, 3, 4]}}}""",
        "not json at all",
    ];

    private static void AssertConforms(string message) =>
        Assert.That(Schema.Problems(message), Is.Empty, message);

    [Test]
    public void The_requests_verify_writes_conform()
    {
        foreach (var line in Requests[1..5]) AssertConforms(Messages.Run((RunRequest)Messages.ParseRequest(line)));
        AssertConforms(Messages.Hello(7));
    }

    [Test]
    public void Requests_and_replies_in_base64_conform()
    {
        foreach (var line in Requests[1..5].Where(l => !l.Contains("NaN")))
            AssertConforms(Messages.Run((RunRequest)Messages.ParseRequest(line), "float32"));
        var entropy = Messages.Run((RunRequest)Messages.ParseRequest("""{"id": 6, "type": "run", "op": "cross_entropy", "attrs": {"reduction": "sum"}, "inputs": {"input": {"shape": [1, 2], "data": [0.5, 1]}, "target": {"shape": [1], "data": [1]}}}"""), "float16");
        Assert.That(entropy, Does.Contain("\"target\": {\"shape\": [1], \"dtype\": \"int64\""), "class indices go as integers");
        AssertConforms(entropy);
        var output = new StringWriter();
        Server.Serve(new StringReader(Messages.Hello(0) + "\n" + string.Join("\n", Requests[1..5])), output, GradOracle.Protocol.OracleEngine.Instance);
        var replies = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(replies[0], Does.EndWith("\"encoding\": \"base64\"}"));
        Assert.That(replies[1], Does.Contain("\"dtype\": \"float64\", \"base64\""));
        foreach (var reply in replies) AssertConforms(reply);
    }

    [Test]
    public void Every_reply_of_the_oracles_server_conforms()
    {
        foreach (var line in Requests) AssertConforms(Server.Answer(line));
    }

    [Test]
    public void Every_reply_of_the_libtorch_engine_conforms_its_unsupported_reason_included()
    {
        TorchRequirement.Ensure();
        var engine = TorchEngine.IfAvailable(out _)!;
        var replies = Requests.Select(l => Server.Answer(l, engine)).ToList();
        Assert.That(replies, Has.Some.Contains("\"unsupported\": true, \"reason\""));
        foreach (var reply in replies) AssertConforms(reply);
    }

    [Test]
    public void A_reply_that_breaks_the_schema_is_named()
    {
        Assert.That(Schema.Problems("""{"id": 4, "unsupported": "because"}"""), Is.Not.Empty);
        Assert.That(Schema.Problems("""{"id": "4", "output": {"shape": [1], "data": [1]}}"""), Is.Not.Empty);
    }
}
