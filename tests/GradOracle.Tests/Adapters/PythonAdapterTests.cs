using GradOracle.Layers;
using GradOracle.Protocol;
using GradOracle.Tensors;
using GradOracle.Tests.Verification;
using GradOracle.Verification;

namespace GradOracle.Tests.Adapters;

/// <summary>src/adapters/python/gradoracle_adapter.py end to end: the quick start's layers through verify, and the helper's edges over the protocol.</summary>
public class PythonAdapterTests
{
    private static readonly string Quickstart = $"/usr/bin/python3 {Tools.Quote(Path.Combine(Tools.Root, "examples", "quickstart", "layers.py"))}";

    [Test]
    public void The_quickstart_layers_pass_every_relu_and_linear_case_and_skip_the_rest()
    {
        Tools.RequireNumPy();
        var r = AdapterRuns.Verify(Quickstart, seed: 5, random: 200);
        AdapterRuns.AssertPasses(r, "relu", "linear");
        Assert.That(r.Count(CaseStatus.Pass), Is.GreaterThan(10));
    }

    [Test]
    public void The_quickstart_planted_bug_fails_and_is_named()
    {
        Tools.RequireNumPy();
        AdapterRuns.AssertFailsNamed(AdapterRuns.Verify(Quickstart + " --bug", seed: 5, random: 200), "linear", AdapterRuns.DividedWeight);
    }

    [Test]
    public void The_readmes_adapter_is_at_most_20_lines_and_passes_beside_the_vendored_helper()
    {
        Tools.RequireNumPy();
        var readme = File.ReadAllText(Path.Combine(Tools.Root, "README.md"));
        int start = readme.IndexOf("```python\nfrom gradoracle_adapter import Adapter", StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThanOrEqualTo(0), "the README shows the Python adapter");
        start = readme.IndexOf('\n', start) + 1;
        var code = readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
        Assert.That(code.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.LessThanOrEqualTo(20));
        var dir = Path.Combine(Path.GetTempPath(), $"gradoracle-readme-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            File.Copy(Path.Combine(Tools.Root, "src", "adapters", "python", "gradoracle_adapter.py"), Path.Combine(dir, "gradoracle_adapter.py"));
            File.WriteAllText(Path.Combine(dir, "my_layers.py"), code);
            var r = AdapterRuns.Verify($"/usr/bin/python3 {Tools.Quote(Path.Combine(dir, "my_layers.py"))}", seed: 5, random: 200);
            AdapterRuns.AssertPasses(r, "relu", "linear");
        }
        finally { Directory.Delete(dir, true); }
    }

    private static string Edges(bool numpy, string encoding = "auto", string dtype = "float64") =>
        $"EDGES_ENCODING={encoding} EDGES_DTYPE={dtype} GRADORACLE_ADAPTER_DIR={Tools.Quote(Path.Combine(Tools.Root, "src", "adapters", "python"))} /usr/bin/python3{(numpy ? "" : " -S")} " +
        Tools.Quote(Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "helper_edges.py"));

    private static RunRequest Run(string op, Tensor? dy = null) => new(0, op, OpAttributes.None, NamedTensors.Input(Tensor.FromArray(Shape.Of(4), [1, 2, 3, 4])), dy);

    // Without numpy (python3 -S leaves Debian's dist-packages out) the helper hands the op a Tensor of lists.
    [TestCase(true, "auto", "base64")]
    [TestCase(false, "auto", "base64")]
    [TestCase(true, "json", "json")]
    public void The_helper_says_hello_and_encodes_what_pythons_json_would_get_wrong(bool numpy, string asked, string encoding)
    {
        if (numpy) Tools.RequireNumPy();
        Tools.Require(File.Exists("/usr/bin/python3"), "/usr/bin/python3");
        using var client = new ImplementationClient(Edges(numpy, asked), TimeSpan.FromSeconds(20));
        var hello = client.Start();
        Assert.That((hello.Name, hello.Dtype, hello.Encoding), Is.EqualTo(("helper-edges", "float64", encoding)));
        Assert.That(hello.Ops, Is.EqualTo(new[] { "conv2d", "cross_entropy", "gelu", "linear", "relu", "sigmoid" }), "sorted");
        Assert.That(hello.Conventions, Does.ContainKey("relu_at_zero"));

        var answered = (RunResponse)((Outcome.Answered)client.Run(Run("relu", Tensor.FromArray(Shape.Of(4), [1, 1, 1, 1])))).Response;
        var o = answered.Output.ToArray();
        Assert.That(o[0] == 0 && double.IsNegative(o[0]), "-0.0 keeps its sign");
        Assert.That(double.IsNaN(o[1]) && double.IsPositiveInfinity(o[2]) && double.IsNegativeInfinity(o[3]));
        Assert.That(answered.Grads!["input"].Shape, Is.EqualTo(Shape.Of(2, 2)), "a nested list keeps its shape");

        var scalar = (RunResponse)((Outcome.Answered)client.Run(Run("cross_entropy"))).Response;
        Assert.That(scalar.Output.Shape.Rank, Is.Zero, "a number is a 0-d tensor");
        Assert.That(scalar.Output.At(0), Is.EqualTo(2.5));
        Assert.That(scalar.Grads, Is.Null, "no grads without grad_output");

        var refused = (UnsupportedResponse)((Outcome.Answered)client.Run(Run("conv2d"))).Response;
        Assert.That(refused.Reason, Is.EqualTo("groups > 1 is not implemented"));
        Assert.That(((ErrorResponse)((Outcome.Answered)client.Run(Run("linear"))).Response).Message, Does.StartWith("ZeroDivisionError").And.Contain("helper_edges.py:"));
        Assert.That(((ErrorResponse)((Outcome.Answered)client.Run(Run("sigmoid"))).Response).Message, Does.Contain("returns (output, grads)"));
        Assert.That(((UnsupportedResponse)((Outcome.Answered)client.Run(Run("tanh"))).Response).Reason, Does.Contain("not registered"));

        Assert.That(client.Restarts, Is.Zero, "every reply was well formed: no print reached stdout");
        Assert.That(client.Stderr, Does.Contain("printed while importing the layers").And.Contain("printed inside an op"));
    }

    [TestCase(true, "float32")]
    [TestCase(true, "float16")]
    [TestCase(true, "bfloat16")]
    [TestCase(false, "float32")]
    [TestCase(false, "float16")]
    [TestCase(false, "bfloat16")]
    public void The_helper_reads_base64_tensors_in_its_dtype(bool numpy, string dtype)
    {
        if (numpy) Tools.RequireNumPy();
        Tools.Require(File.Exists("/usr/bin/python3"), "/usr/bin/python3");
        using var client = new ImplementationClient(Edges(numpy, dtype: dtype), TimeSpan.FromSeconds(20));
        Assert.That(client.Start().Encoding, Is.EqualTo("base64"));
        var request = new RunRequest(0, "gelu", OpAttributes.None, NamedTensors.Input(Tensor.FromArray(Shape.Of(2, 2), [1.5, -0.25, 96, -0.0])), null);
        var doubled = (RunResponse)((Outcome.Answered)client.Run(request)).Response;
        Assert.That(doubled.Output.ToArray(), Is.EqualTo(new[] { 3.0, -0.5, 192, -0.0 }), "the values the op received, doubled");
        Assert.That(doubled.Output.Shape, Is.EqualTo(Shape.Of(2, 2)));
    }
}
