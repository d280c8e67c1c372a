using GradOracle.Checking;
using GradOracle.Layers;

namespace GradOracle.Tests.Layers;

/// <summary>Every op's descriptor states what its op does: its attributes, inputs and random cases agree with the op built from it.</summary>
public class OpDescriptorTests
{
    private static readonly List<CheckCase> Drawn = RandomCases.Generate(5, 3000).ToList();

    private static IEnumerable<TestCaseData> Descriptors() =>
        OpFactory.Descriptors.Select(d => new TestCaseData(d).SetArgDisplayNames(d.Name));

    [Test]
    public void No_two_descriptors_answer_to_the_same_name()
    {
        var names = OpFactory.Descriptors.SelectMany(d => d.Names).ToList();
        Assert.That(names, Is.Unique);
    }

    [TestCaseSource(nameof(Descriptors))]
    public void Random_cases_draw_every_op_that_has_a_draw(OpDescriptor d)
    {
        var of = Drawn.Where(c => c.Op.Descriptor == d).ToList();
        if (d.DrawWeight == 0) Assert.That(of, Is.Empty);
        else Assert.That(of, Is.Not.Empty, $"no random case of {d.Name} in {Drawn.Count}");
    }

    [TestCaseSource(nameof(Descriptors))]
    public void A_drawn_op_has_only_the_declared_attributes_and_inputs(OpDescriptor d)
    {
        var declared = d.Attributes.Select(a => a.Name).ToHashSet();
        var inputs = d.Inputs.ToDictionary(i => i.Name);
        foreach (var c in Drawn.Where(c => c.Op.Descriptor == d).Take(50))
        {
            Assert.That(c.Op.Attributes.Select(a => a.Key), Is.SubsetOf(declared), c.Configuration);
            Assert.That(c.Inputs.Names, Is.SubsetOf(inputs.Keys), c.Configuration);
            Assert.That(c.Op.DifferentiableInputs.All(n => inputs[n].Differentiable), Is.True, c.Configuration);
            Assert.That(inputs.Values.Where(i => !i.Optional).Select(i => i.Name), Is.SubsetOf(c.Inputs.Names), c.Configuration);
        }
    }

    [TestCaseSource(nameof(Descriptors))]
    public void An_op_rebuilt_from_its_name_and_attributes_is_the_same_op(OpDescriptor d)
    {
        foreach (var c in Drawn.Where(c => c.Op.Descriptor == d).Take(50))
        {
            var rebuilt = OpFactory.Create(c.Op.Name, c.Op.Attributes, c.Inputs.Names);
            Assert.That(rebuilt.Descriptor, Is.SameAs(d));
            Assert.That(rebuilt.AttributeText, Is.EqualTo(c.Op.AttributeText));
            Assert.That(rebuilt.Forward(c.Inputs).ToArray(), Is.EqualTo(c.Op.Forward(c.Inputs).ToArray()));
        }
    }

    [Test]
    public void An_unknown_name_gets_a_descriptor_that_claims_nothing()
    {
        var (net, inputs) = ExampleNetworks.SourceDocuments();
        var d = OpFactory.Describe(net.Name);
        Assert.That(((IOp)net).Descriptor.Name, Is.EqualTo(net.Name));
        Assert.That(d.ComparesExactly(net), Is.False);
        Assert.That(d.Torch(net, out var why), Is.Null);
        Assert.That(why, Does.Contain("no libtorch mapping"));
        Assert.That(d.Bugs(net, inputs, net.Forward(inputs)), Is.Empty);
        Assert.That(d.Indices(net, inputs), Is.Null);
    }

    [Test]
    public void The_kinks_every_implementation_may_declare_are_the_descriptors_kinks()
    {
        Assert.That(OpFactory.Situations.Select(s => s.Key), Is.EqualTo(new[]
        {
            "tie_policy", "nan_rule", "relu_at_zero", "leaky_relu_at_zero", "hardtanh_at_edges", "relu6_at_edges", "hardsigmoid_at_edges",
            "hardswish_at_edges", "elu_at_zero", "selu_at_zero", "prelu_at_zero", "l1_at_zero",
        }));
    }
}
