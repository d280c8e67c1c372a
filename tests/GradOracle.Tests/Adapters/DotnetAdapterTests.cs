using GradOracle.Layers;
using GradOracle.Protocol;
using GradOracle.Tensors;
using GradOracle.Tests.Verification;

namespace GradOracle.Tests.Adapters;

/// <summary>src/adapters/dotnet (GradOracle.Adapter) end to end: examples/dotnet/Layers, built with the solution, right and with --bug.</summary>
public class DotnetAdapterTests
{
    private static string Example(string args = "")
    {
        var config = new DirectoryInfo(TestContext.CurrentContext.TestDirectory).Parent!.Name;
        var dll = Path.Combine(Tools.Root, "examples", "dotnet", "Layers", "bin", config, "net10.0", "Layers.dll");
        if (!File.Exists(dll)) Assert.Fail($"{dll} is missing: build the solution (dotnet build GradOracle.sln)");
        return $"dotnet {Tools.Quote(dll)} {args}".TrimEnd();
    }

    [Test]
    public void The_csharp_example_passes_its_ops_and_its_console_output_reaches_stderr()
    {
        var r = AdapterRuns.Verify(Example());
        AdapterRuns.AssertPasses(r, "relu", "linear");
        Assert.That(r.Stderr, Does.Contain("this line goes to stderr"));
    }

    [Test]
    public void The_csharp_example_with_its_planted_bug_fails_and_is_named()
    {
        AdapterRuns.AssertFailsNamed(AdapterRuns.Verify(Example("--bug")), "linear", AdapterRuns.DividedWeight);
    }

    [Test]
    public void The_adapter_writes_non_finite_values_as_strings_and_refuses_unregistered_ops()
    {
        using var client = new ImplementationClient(Example(), TimeSpan.FromSeconds(20));
        Assert.That(client.Start().Ops, Is.EqualTo(new[] { "linear", "relu" }));
        var x = Tensor.FromArray(Shape.Of(3), [double.NaN, double.PositiveInfinity, -1]);
        var answered = (RunResponse)((Outcome.Answered)client.Run(new RunRequest(0, "relu", OpAttributes.None, NamedTensors.Input(x), null))).Response;
        Assert.That(double.IsNaN(answered.Output.At(0)) && double.IsPositiveInfinity(answered.Output.At(1)) && answered.Output.At(2) == 0);
        var refused = (UnsupportedResponse)((Outcome.Answered)client.Run(new RunRequest(0, "tanh", OpAttributes.None, NamedTensors.Input(x), null))).Response;
        Assert.That(refused.Reason, Does.Contain("not registered"));
    }
}
