using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Layers;

public class NetworkTests
{
    [Test]
    public void The_source_documents_network_returns_a_gradient_for_the_input_and_every_parameter()
    {
        var (net, inputs) = ExampleNetworks.SourceDocuments();
        Assert.That(net.AttributeText, Is.EqualTo("conv2d -> relu -> max_pool2d -> conv2d -> relu -> avg_pool2d -> flatten -> linear -> cross_entropy"));
        var grads = net.Backward(inputs, Tensor.FromArray(Shape.Of(), [1]));
        Assert.That(grads.Names, Is.EqualTo(new[] { "input", "0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias" }));
        foreach (var name in grads.Names) Assert.That(grads[name].Shape, Is.EqualTo(inputs[name].Shape), name);
        Assert.That(net.DifferentiableInputs, Is.EqualTo(grads.Names));
    }

    [Test]
    public void Finite_differences_cover_every_parameter_of_the_network()
    {
        var (net, inputs) = ExampleNetworks.SourceDocuments();
        var result = GradientChecker.Check(net, inputs);
        Assert.That(result.Passed, Is.True, result.Describe());
        Assert.That(result.Elements.Select(e => e.Tensor).Distinct(), Is.EqualTo(net.DifferentiableInputs));
        Assert.That(result.Elements.Count(e => e.Tensor == "3.weight"), Is.EqualTo(4 * 3 * 3 * 3));
    }

    [Test]
    public void A_parameter_error_inside_a_network_names_the_layer()
    {
        var (net, inputs) = ExampleNetworks.SourceDocuments();
        var e = Assert.Throws<ParameterException>(() => net.Forward(inputs.With("8.target", T.Of([2], 3, 7))));
        Assert.That(e!.ParamName, Is.EqualTo("layer 8 (cross_entropy): target[1]"));
    }

    [Test]
    public void The_resnet_block_agrees_with_finite_differences_through_the_skip_connection()
    {
        var (net, inputs) = ExampleNetworks.ResNetBlock();
        Assert.That(net.AttributeText, Is.EqualTo("conv2d -> batch_norm -> relu -> residual -> relu -> global_avg_pool2d -> flatten -> linear -> cross_entropy"));
        var result = GradientChecker.Check(net, inputs);
        Assert.That(result.Passed, Is.True, result.Describe());
        Assert.That(result.Elements.Select(e => e.Tensor).Distinct(), Is.EqualTo(net.DifferentiableInputs));
        Assert.That(net.DifferentiableInputs, Does.Contain("3.3.weight").And.Contain("3.4.bias"));
    }
}
