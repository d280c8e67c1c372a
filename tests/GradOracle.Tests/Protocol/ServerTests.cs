using System.Text.Json;
using GradOracle.Protocol;
using NUnit.Framework;

namespace GradOracle.Tests.Protocol;

[TestFixture]
public class ServerTests
{
    /// <summary>Lines per run: the CI default, or GRADORACLE_FUZZ_LINES for a longer run (tools/fuzz-serve.sh).</summary>
    private static int Lines => int.TryParse(Environment.GetEnvironmentVariable("GRADORACLE_FUZZ_LINES"), out var n) ? n : 2500;

    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("GRADORACLE_FUZZ_SEED"), out var n) ? n : 14;

    [Test]
    public void Every_line_of_a_hostile_corpus_gets_one_reply_with_a_reason_and_bounded_memory()
    {
        int errors = 0, answered = 0;
        long worst = 0;
        foreach (var line in HostileLines.Generate(Seed, Lines))
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            var reply = Server.Answer(line);
            worst = Math.Max(worst, GC.GetAllocatedBytesForCurrentThread() - before);
            using var doc = JsonDocument.Parse(reply);
            var root = doc.RootElement;
            Assert.That(root.ValueKind, Is.EqualTo(JsonValueKind.Object), line);
            Assert.That(root.TryGetProperty("id", out _), Is.True, $"a reply carries an id (null when none can be read): {reply}");
            if (root.TryGetProperty("error", out var e))
            {
                errors++;
                // A refusal names what is wrong; the oracle's own catch-all must never be what answers.
                Assert.That(e.GetString(), Does.Not.StartWith("internal error"), line);
                Assert.That(e.GetString(), Is.Not.Empty);
            }
            else
            {
                answered++;
                Assert.That(root.TryGetProperty("output", out _) || root.TryGetProperty("protocol", out _), Is.True, reply);
            }
        }
        TestContext.Out.WriteLine($"seed {Seed}, {Lines} lines: {errors} refused, {answered} answered; most allocated by one line {worst / 1024} KiB");
        Assert.That(errors, Is.GreaterThan(Lines / 2), "the corpus is mostly malformed");
        Assert.That(worst, Is.LessThan(64L << 20), "no line of the corpus may make the server allocate more than 64 MiB");
    }

    [TestCase("123", "expected a JSON object, found a number")]
    [TestCase("""{"id":1,"type":5}""", "type: expected a string, found a number")]
    [TestCase("""{"id":1,"type":"hello","protocol":1.5}""", "protocol: expected an integer, found 1.5")]
    [TestCase("""{"id":1,"type":"hello","protocol":"1"}""", "protocol: expected an integer, found a string")]
    [TestCase("""{"id":1,"type":"run","op":"\ud800","inputs":{}}""", "op: the string is not valid Unicode")]
    [TestCase("""{"id":1,"type":"run","op":"relu","inputs":{"input":{"shape":[100000,100000],"data":[]}}}""", "10,000,000,000 elements, more than the limit of 2,097,152 (--max-elements raises it)")]
    [TestCase("""{"id":1,"type":"run","op":"relu","inputs":{"input":{"shape":[2],"data":[1e999,2]}}}""", "inputs.input.data[0]: 1e999 is outside float64's range")]
    [TestCase("""{"id":1,"type":"run","op":"relu","attrs":{"kernel_size":2},"inputs":{"input":{"shape":[1],"data":[1]}}}""", "kernel_size = 2: is not an attribute of relu (it has none)")]
    [TestCase("""{"id":1,"type":"run","op":"instance_norm","inputs":{"input":{"shape":[1,1,2],"data":[1,3]},"running_mean":{"shape":[1],"data":[0]}}}""", "inputs.running_mean = a tensor: is not an input of instance_norm (it takes input, weight, bias)")]
    [TestCase("""{"id":1,"type":"run","op":"max_pool1d","attrs":{"kernel_size":[2],"dilation":[2147483647]},"inputs":{"input":{"shape":[1,1,3],"data":[1,2,3]}}}""", "the window spans 2147483648 positions, more than the padded input")]
    [TestCase("""{"id":1,"type":"run","op":"adaptive_max_pool1d","attrs":{"output_size":[2147483647]},"inputs":{"input":{"shape":[1,1,3],"data":[1,2,3]}}}""", "output_size[0] = 2147483647: the output along spatial axis 0 would hold 2,147,483,647 elements")]
    [TestCase("""{"id":1,"type":"run","op":"adaptive_avg_pool1d","attrs":{"output_size":[300000000]},"inputs":{"input":{"shape":[1,1,3],"data":[1,2,3]}}}""", "300,000,000 elements, more than the limit")]
    [TestCase("""{"id":1,"type":"run","op":"conv1d","attrs":{"padding":[1000000000]},"inputs":{"input":{"shape":[1,1,3],"data":[1,2,3]},"weight":{"shape":[1,1,1],"data":[1]}}}""", "padding[0] = 1000000000: the output along spatial axis 0 would hold 2,000,000,003 elements")]
    [TestCase("""{"id":1,"type":"run","op":"max_pool1d","attrs":{"kernel_size":[2147483647],"padding":[1073741823],"ceil_mode":true},"inputs":{"input":{"shape":[1,1,3],"data":[1,2,3]}}}""", "padding[0] = 1073741823")]
    [TestCase("""{"id":1,"type":"run","op":"max_pool1d","attrs":{"kernel_size":[3000000],"padding":[1500000]},"inputs":{"input":{"shape":[1,1,1],"data":[1]}}}""", "kernel_size = [3000000]: one window would hold 3,000,000 elements, more than the limit")]
    [TestCase("\u0000too long", "not a JSON object")]
    [TestCase("""{"id":1,"type":"run","op":"cross_entropy","attrs":{"reduction":"7"},"inputs":{"input":{"shape":[1,3],"data":[1,2,3]},"target":{"shape":[1],"data":[2]}}}""", "reduction = '7': must be one of mean, sum, none")]
    [TestCase("""{"id":1,"type":"run","op":"cross_entropy","attrs":{"reduction":"mean, sum"},"inputs":{"input":{"shape":[1,3],"data":[1,2,3]},"target":{"shape":[1],"data":[2]}}}""", "must be one of mean, sum, none")]
    public void A_request_the_oracle_cannot_take_gets_an_error_reply_that_names_the_rule(string line, string expected)
    {
        using var doc = JsonDocument.Parse(Server.Answer(line));
        Assert.That(doc.RootElement.GetProperty("error").GetString(), Does.Contain(expected));
    }

    [TestCase("first", 2)]
    [TestCase("last", 3)]
    public void A_max_pool_reply_carries_the_index_its_tie_policy_selects(string tie, int index)
    {
        // Input [[1, 1], [2, 2]]: the maxima 2, 2 sit at flat indices 2 and 3 of the plane (worked by hand).
        var reply = Server.Answer("""{"id": 9, "type": "run", "op": "max_pool2d", "attrs": {"kernel_size": [2, 2], "tie_policy": "TIE"}, "inputs": {"input": {"shape": [1, 1, 2, 2], "data": [1, 1, 2, 2]}}}""".Replace("TIE", tie));
        Assert.That(reply, Is.EqualTo("""{"id": 9, "output": {"shape": [1, 1, 1, 1], "data": [2]}, "indices": {"shape": [1, 1, 1, 1], "data": [INDEX]}}""".Replace("INDEX", index.ToString())));
        var relu = Server.Answer("""{"id": 10, "type": "run", "op": "relu", "attrs": {}, "inputs": {"input": {"shape": [1], "data": [1]}}}""");
        Assert.That(relu, Does.Not.Contain("indices"), "only ops that select send them");
    }

    [Test]
    public void A_training_batch_norm_reply_carries_the_updated_running_statistics_and_reads_back()
    {
        // Channel values 1, 3 (N = 2): mean 2, unbiased variance 2; from (0, 1) with momentum 0.5: 1 and 1.5.
        var reply = Server.Answer("""{"id": 3, "type": "run", "op": "batch_norm", "attrs": {"training": true, "momentum": 0.5}, "inputs": {"input": {"shape": [2, 1], "data": [1, 3]}, "running_mean": {"shape": [1], "data": [0]}, "running_var": {"shape": [1], "data": [1]}}}""");
        Assert.That(reply, Does.EndWith(""", "extras": {"running_mean": {"shape": [1], "data": [1]}, "running_var": {"shape": [1], "data": [1.5]}}}"""));
        var parsed = (RunResponse)Messages.ParseResponse(reply);
        Assert.That(parsed.Extras!.Names, Is.EqualTo(new[] { "running_mean", "running_var" }));
    }

    private static string[] Session(string hello, string encoding = "base64")
    {
        var output = new StringWriter();
        // relu of float32 [1, -2] sent in base64 (struct.pack('<2f', 1.0, -2.0)); grad_output as JSON numbers.
        var run = """{"id": 1, "type": "run", "op": "relu", "attrs": {}, "inputs": {"input": {"shape": [2], "dtype": "float32", "base64": "AACAPwAAAMA="}}, "grad_output": {"shape": [2], "data": [3, 3]}}""";
        Server.Serve(new StringReader(hello + "\n" + run + "\n"), output, OracleEngine.Instance, encoding);
        return output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Test]
    public void A_client_whose_hello_offers_base64_is_answered_in_it_and_asked_for_it()
    {
        var replies = Session("""{"id": 0, "type": "hello", "protocol": 1, "encodings": ["json", "base64"]}""");
        Assert.That(replies[0], Does.EndWith(", \"encoding\": \"base64\"}"));
        // relu([1, -2]) = [1, 0], gradient 3 * [1, 0]: float64 1.0 = 00..F03F, 3.0 = 00..0840.
        Assert.That(replies[1], Is.EqualTo("""{"id": 1, "output": {"shape": [2], "dtype": "float64", "base64": "AAAAAAAA8D8AAAAAAAAAAA=="}, "grads": {"input": {"shape": [2], "dtype": "float64", "base64": "AAAAAAAACEAAAAAAAAAAAA=="}}}"""));
    }

    [TestCase("""{"id": 0, "type": "hello", "protocol": 1}""", "base64")]
    [TestCase("""{"id": 0, "type": "hello", "protocol": 1, "encodings": ["json", "base64"]}""", "json")]
    public void A_client_that_does_not_offer_base64_or_a_server_told_json_gets_numbers_and_base64_is_still_read(string hello, string encoding)
    {
        var replies = Session(hello, encoding);
        Assert.That(replies[0], Does.Not.Contain("encoding"));
        Assert.That(replies[1], Is.EqualTo("""{"id": 1, "output": {"shape": [2], "data": [1, 0]}, "grads": {"input": {"shape": [2], "data": [3, 0]}}}"""));
    }

    [Test]
    public void A_line_past_the_length_limit_is_refused_unbuffered_and_the_next_line_is_answered()
    {
        var input = new StringReader(new string('x', 5000) + "\n" + """{"id": 7, "type": "hello", "protocol": 1}""" + "\n");
        var reader = new LineReader(input, 1000);
        Assert.That(reader.ReadLine(), Is.EqualTo(LineReader.TooLong));
        Assert.That(reader.ReadLine(), Does.Contain("\"id\": 7"));
        Assert.That(reader.ReadLine(), Is.Null);
        Assert.That(Server.Answer(LineReader.TooLong), Does.Contain("--max-line-mb"));
    }

    [Test]
    public void A_window_of_a_million_taps_is_answered_without_overflowing_the_stack()
    {
        // Its gather buffers once lived on the stack: 2 x 4 MB, past any thread's stack.
        const int n = 1_000_000;
        var line = $"{{\"id\": 3, \"type\": \"run\", \"op\": \"max_pool1d\", \"attrs\": {{\"kernel_size\": [{n}]}}, \"inputs\": {{\"input\": {{\"shape\": [1, 1, {n}], \"data\": [" +
                   string.Join(",", Enumerable.Range(0, n).Select(i => (i % 7).ToString())) + "]}}}";
        using var doc = JsonDocument.Parse(Server.Answer(line));
        Assert.That(doc.RootElement.GetProperty("output").GetProperty("data")[0].GetDouble(), Is.EqualTo(6));
    }

    [Test]
    public void A_line_of_more_values_than_any_message_within_the_limit_is_refused_before_parsing()
    {
        var line = "{\"id\": 1, \"type\": \"run\", \"op\": \"relu\", \"inputs\": {\"input\": {\"shape\": [3000000], \"data\": [" +
                   string.Join(",", Enumerable.Repeat("1", 3_000_000)) + "]}}}";
        long before = GC.GetAllocatedBytesForCurrentThread();
        var reply = Server.Answer(line);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(reply, Does.Contain("the line holds at least 3,000,004 values").And.Contain("--max-elements"));
        Assert.That(allocated, Is.LessThan(1L << 20), "refused without parsing");
    }

    [Test]
    public void Serve_answers_every_line_of_a_stream_of_hostile_lines_in_order()
    {
        var lines = HostileLines.Generate(seed: 99, 300).Where(l => !l.Contains('\n') && l.Trim().Length > 0).ToList();
        var output = new StringWriter();
        Server.Serve(new StringReader(string.Join("\n", lines) + "\n"), output);
        Assert.That(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(lines.Count));
    }
}
