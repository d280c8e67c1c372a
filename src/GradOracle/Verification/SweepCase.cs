using GradOracle.Layers;

namespace GradOracle.Verification;

/// <summary>One combination of a <see cref="SweepFile"/>: the op and how its inputs are made, or, when the op refuses its attributes, why.</summary>
/// <param name="Id">The case's id: <c>sweep/&lt;op&gt;/&lt;input&gt;=&lt;shape&gt;;.../&lt;attribute&gt;=&lt;value&gt;;...</c>.</param>
/// <param name="Op">The op; null when refused.</param>
/// <param name="InputNames">The inputs the case gives.</param>
/// <param name="Make">
/// Makes the seeded inputs (each call anew, so that a run holds one case's tensors at a time); a
/// <see cref="ParameterException"/> when the op refuses the shapes or an input cannot be filled. Null when refused.
/// </param>
/// <param name="Refused">Why the op refuses the combination ('same' padding with a stride, a size past --max-elements); null when it is a case.</param>
public sealed record SweepCase(string Id, IOp? Op, IReadOnlyList<string> InputNames, Func<NamedTensors>? Make, string? Refused)
{
    /// <summary>The inputs, checked by a forward pass: a <see cref="ParameterException"/> when the op refuses them.</summary>
    public NamedTensors Inputs()
    {
        var inputs = Make!();
        Op!.Forward(inputs);
        return inputs;
    }
}
