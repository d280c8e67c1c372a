using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// An elementwise activation with a few kinks (hardtanh's edges, elu at 0): forward and derivative side by side,
/// and at each kink the slope of the op's declared choice, PyTorch's unless <see cref="WithConventions"/> chose
/// another. Any slope between the one-sided ones is valid there (<see cref="KinkJudge"/>).
/// </summary>
public abstract class KinkedActivation : IOp, IHasJacobianStructure, IHasConventions
{
    /// <summary>An activation taking <paramref name="choice"/> at its kinks.</summary>
    protected KinkedActivation(string choice) => Choice = choice;

    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <inheritdoc/>
    public abstract OpAttributes Attributes { get; }

    /// <inheritdoc/>
    public IReadOnlyList<string> DifferentiableInputs { get; } = ["input"];

    /// <summary>The situation an implementation declares its choice at the kinks by.</summary>
    public abstract Situation Situation { get; }

    /// <summary>The kinks at these attributes (none where the one-sided slopes agree).</summary>
    public abstract IReadOnlyList<Kink> Kinks { get; }

    /// <summary>The choice taken at the kinks (a side's name or <see cref="Kink.Mean"/>).</summary>
    public string Choice { get; }

    /// <summary>f(x).</summary>
    public abstract double Value(double x);

    /// <summary>f'(x) away from the kinks.</summary>
    protected abstract double SlopeAway(double x);

    /// <summary>The same activation taking <paramref name="choice"/> at its kinks.</summary>
    protected abstract KinkedActivation With(string choice);

    /// <summary>The kink at <paramref name="x"/>, or null.</summary>
    public Kink? KinkAt(double x)
    {
        foreach (var k in Kinks)
            if (x == k.At) return k;
        return null;
    }

    /// <summary>The derivative the backward uses at <paramref name="x"/>: the chosen slope at a kink.</summary>
    public double SlopeAt(double x) => KinkAt(x) is { } k ? k.Slope(Choice) : SlopeAway(x);

    /// <inheritdoc/>
    public Tensor Forward(NamedTensors inputs) => Elementwise.Forward(inputs, Value);

    /// <inheritdoc/>
    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput) => Elementwise.Backward(inputs, gradOutput, SlopeAt);

    /// <inheritdoc/>
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) => JacobianStructure.Diagonal;

    /// <inheritdoc/>
    public IReadOnlyList<Situation> Situations => Kinks.Any(k => k.IsKink) ? [Situation] : [];

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, string> Choices => new Dictionary<string, string> { [Situation.Key] = Choice };

    /// <inheritdoc/>
    public IReadOnlyList<string> SituationsAt(NamedTensors inputs)
    {
        var x = inputs["input"];
        for (int i = 0; i < x.Count; i++)
            if (KinkAt(x.At(i)) is { IsKink: true }) return [Situation.Key];
        return [];
    }

    /// <inheritdoc/>
    public IOp WithConventions(IReadOnlyDictionary<string, string> choices) =>
        choices.TryGetValue(Situation.Key, out var c) && c != Choice ? With(c) : this;

    /// <inheritdoc/>
    public ConventionJudgement Judge(NamedTensors inputs, Tensor gradOutput, OpResult answer, AnswerComparer compare, IReadOnlyDictionary<string, string> required) =>
        KinkJudge.Judge(this, inputs, gradOutput, answer, compare, required);

    /// <summary>The situation of an activation's kinks: <paramref name="pytorch"/> one of the two sides' names or the mean.</summary>
    protected static Situation SituationOf(string key, string description, string pytorch, bool edges) =>
        new(key, description, pytorch, edges ? ["outside", "inside", Kink.Mean] : ["left", "right", Kink.Mean]);

    /// <summary>A choice checked against <paramref name="situation"/>'s.</summary>
    protected static string Checked(Situation situation, string choice) => situation.Choices.Contains(choice) ? choice
        : throw new ParameterException(situation.Key, $"'{choice}'", $"must be one of {string.Join(", ", situation.Choices)}");
}
