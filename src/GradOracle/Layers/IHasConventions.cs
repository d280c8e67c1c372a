using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// An op with points where it has no derivative (a max-pool tie, relu at 0), so that the right gradient there
/// is a set, and implementations' choices within it are conventions: PyTorch's one of them. The op says which
/// situations it has, computes any declared choice, and judges whether an answer lies in the set.
/// </summary>
public interface IHasConventions
{
    /// <summary>The situations this op's gradient has a choice at.</summary>
    IReadOnlyList<Situation> Situations { get; }

    /// <summary>The choice this op itself makes in each of its situations (from its attributes, or PyTorch's).</summary>
    IReadOnlyDictionary<string, string> Choices { get; }

    /// <summary>The keys of the situations that arise at <paramref name="inputs"/> (tied maxima, a NaN window, an input at 0).</summary>
    IReadOnlyList<string> SituationsAt(NamedTensors inputs);

    /// <summary>
    /// The op following <paramref name="choices"/> (situation key to declared choice, for this op's situations; absent keys
    /// keep the op's own rule): the expected values of an implementation that declares them.
    /// </summary>
    IOp WithConventions(IReadOnlyDictionary<string, string> choices);

    /// <summary>
    /// Judges <paramref name="answer"/> (shapes already checked) against the set of valid outputs and gradients at
    /// <paramref name="inputs"/>, compared by <paramref name="compare"/>: any valid choice where <paramref name="required"/>
    /// has no key, exactly the required choice where it has one.
    /// </summary>
    ConventionJudgement Judge(NamedTensors inputs, Tensor gradOutput, OpResult answer, AnswerComparer compare, IReadOnlyDictionary<string, string> required);
}
