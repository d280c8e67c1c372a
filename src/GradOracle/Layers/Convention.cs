namespace GradOracle.Layers;

/// <summary>What one answer did in one situation: which choice, at how many places, said in a sentence.</summary>
/// <param name="Situation">The situation's key (<see cref="Layers.Situation.Key"/>).</param>
/// <param name="Choice">A declarable choice (<c>last</c>, <c>propagate_first</c>, <c>1</c>), or <c>other</c> / <c>mixed</c> for a valid answer no one choice names.</param>
/// <param name="Places">How many windows or elements the choice decided.</param>
/// <param name="Text">The sentence for reports, with PyTorch's choice beside it.</param>
/// <param name="Valid">Whether the choice lies in the set of valid gradients (Theano's <c>all</c> does not).</param>
public sealed record Convention(string Situation, string Choice, int Places, string Text, bool Valid = true)
{
    /// <inheritdoc/>
    public override string ToString() => Text;
}
