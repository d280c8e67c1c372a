using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Protocol;
using GradOracle.Tensors;

namespace GradOracle.Tests.Verification;

/// <summary>ImplementationClient.RunAll: pipelined requests against real child processes.</summary>
public class PipelineTests
{
    private static readonly IOp Relu = Activation.Relu();

    private static RunRequest ReluRequest(Tensor x, Tensor? dy = null) => new(0, "relu", OpAttributes.None, NamedTensors.Input(x), dy);

    private static RunRequest SigmoidRequest(Tensor x) => new(0, "sigmoid", OpAttributes.None, NamedTensors.Input(x), null);

    private static RunResponse Answer(Outcome o) =>
        o is Outcome.Answered { Response: RunResponse r } ? r : throw new AssertionException($"expected an answer, got {o}");

    [Test]
    public void Pipelined_requests_to_the_oracle_server_are_all_answered_in_order()
    {
        // More requests than the window, large enough (1536 elements each) that the writes outrun the pipe's buffer.
        var inputs = Enumerable.Range(0, 3 * ImplementationClient.Window + 5).Select(k => Samples.Distinct(Shape.Of(2, 3, 16, 16), k)).ToList();
        var dy = GradientChecker.RandomGradOutput(inputs[0].Shape, 1);
        using var client = new ImplementationClient(Tools.Serve, TimeSpan.FromSeconds(20));
        client.Start();
        var outcomes = client.RunAll([.. inputs.Select((x, k) => ReluRequest(x, k % 10 == 0 ? dy : null))]);
        Assert.That(outcomes, Has.Length.EqualTo(inputs.Count));
        for (int k = 0; k < inputs.Count; k++)
        {
            var r = Answer(outcomes[k]);
            Assert.That(r.Output.ToArray(), Is.EqualTo(Relu.Forward(NamedTensors.Input(inputs[k])).ToArray()), $"request {k}");
            Assert.That(r.Grads?["input"].ToArray(), Is.EqualTo(k % 10 == 0 ? Relu.Backward(NamedTensors.Input(inputs[k]), dy)["input"].ToArray() : null), $"request {k}");
        }
        Assert.That(client.Restarts, Is.Zero);
    }

    [TestCase("crash", "crashed", "the process exited with code 139 before answering")]
    [TestCase("garbage", "garbage", "unreadable response")]
    [TestCase("wrongid", "wrong id", "response carries id")]
    [TestCase("hang", "timeout", "no response within 1 s")]
    public void A_failure_amid_a_batch_is_that_requests_alone_and_the_rest_are_answered_by_a_restarted_process(string mode, string kind, string reason)
    {
        var inputs = Enumerable.Range(0, 7).Select(k => Samples.Distinct(Shape.Of(1, 2, 3), 20 + k)).ToList();
        using var client = new ImplementationClient(Tools.Misbehave(mode), TimeSpan.FromSeconds(1));
        client.Start();
        var outcomes = client.RunAll([.. inputs.Select((x, k) => k == 3 ? SigmoidRequest(x) : ReluRequest(x))]);
        var failed = outcomes[3] as Outcome.Failed;
        Assert.That(failed?.Kind, Is.EqualTo(kind), $"{outcomes[3]}");
        Assert.That(failed?.Reason, Does.Contain(reason));
        foreach (int k in new[] { 0, 1, 2, 4, 5, 6 })
            Assert.That(Answer(outcomes[k]).Output.ToArray(), Is.EqualTo(Relu.Forward(NamedTensors.Input(inputs[k])).ToArray()), $"request {k}");
        Assert.That(client.Restarts, Is.EqualTo(1));
        Assert.That(client.RunAll([ReluRequest(inputs[0]), ReluRequest(inputs[1])]).Select(o => o is Outcome.Answered), Has.All.True, "and it goes on");
    }

    [Test]
    public void An_error_reply_amid_a_batch_is_an_answer_and_needs_no_restart()
    {
        var inputs = Enumerable.Range(0, 5).Select(k => Samples.Distinct(Shape.Of(4), k)).ToList();
        using var client = new ImplementationClient(Tools.Misbehave("error"), TimeSpan.FromSeconds(10));
        client.Start();
        var outcomes = client.RunAll([.. inputs.Select((x, k) => k == 2 ? SigmoidRequest(x) : ReluRequest(x))]);
        var error = (outcomes[2] as Outcome.Answered)?.Response as ErrorResponse;
        Assert.That(error?.Message, Is.EqualTo("sigmoid not implemented for this shape"), $"{outcomes[2]}");
        Assert.That(outcomes.Where((_, k) => k != 2).Select(o => Answer(o).Output.Count), Has.All.EqualTo(4));
        Assert.That(client.Restarts, Is.Zero);
    }

    [Test]
    public void Stopping_at_the_first_failure_reports_the_rest_as_not_run_and_the_next_batch_is_answered()
    {
        var inputs = Enumerable.Range(0, 6).Select(k => Samples.Distinct(Shape.Of(3), k)).ToList();
        using var client = new ImplementationClient(Tools.Misbehave("crash"), TimeSpan.FromSeconds(10));
        client.Start();
        var outcomes = client.RunAll([.. inputs.Select((x, k) => k == 2 ? SigmoidRequest(x) : ReluRequest(x))], stopAtFirstFailure: true);
        Assert.That(outcomes.Select(o => o is Outcome.Failed f ? f.Kind : "answered"),
            Is.EqualTo(new[] { "answered", "answered", "crashed", "not run", "not run", "not run" }));
        Assert.That(((Outcome.Failed)outcomes[3]).Reason, Is.EqualTo("request 3 of the 6 in this batch failed first"));
        Assert.That(client.Restarts, Is.EqualTo(1));
        Assert.That(client.RunAll([.. inputs.Select(x => ReluRequest(x))]).Select(o => o is Outcome.Answered), Has.All.True);
    }
}
