using System.Collections.Immutable;
using System.Text;

namespace GradOracle.Checking;

/// <summary>
/// The outcome of <see cref="ProjectionCheck.Screen(Layers.IOp, Layers.NamedTensors, Tensors.Tensor, ProjectionOptions?)"/>:
/// the top-level projection, what bisection localised (exact element checks, failures first) and the cost.
/// </summary>
/// <param name="Op">The op's name.</param>
/// <param name="Attributes">The op's attributes.</param>
/// <param name="Screen">The projection over every element (null when the screen could not run or no element could move).</param>
/// <param name="Elements">The element checks of the sets bisection ended in, failures first.</param>
/// <param name="Screened">Elements the top-level projection moved.</param>
/// <param name="Projections">Projections computed (4 forward passes each).</param>
/// <param name="ForwardPasses">Forward passes in all: the base, the projections' and the element checks'.</param>
public sealed record ProjectionResult(
    string Op,
    string Attributes,
    Projection? Screen,
    ImmutableArray<ElementCheck> Elements,
    int Screened,
    int Projections,
    int ForwardPasses)
{
    /// <summary>Why the screen could not run (the op threw, a gradient was missing or misshapen), if so.</summary>
    public string? Error { get; init; }

    /// <summary>Input elements that are NaN or infinite: they cannot move, so nothing about them is checked.</summary>
    public int LeftOut { get; init; }

    /// <summary>Outputs non-finite at x, whose dY was zeroed as in <see cref="GradCheckResult.ExcludedOutputs"/>.</summary>
    public int ExcludedOutputs { get; init; }

    /// <summary>The localised elements that failed.</summary>
    public ImmutableArray<ElementCheck> Failures => [.. Elements.Where(e => e.Verdict == ElementVerdict.Fail)];

    /// <summary>
    /// The top-level projection disagreed but no localised element failed: errors too small or spread too thin
    /// to show in any half. Not a pass; the full check says more.
    /// </summary>
    public bool Unlocalised => Screen is { Disagrees: true } && Failures.IsEmpty;

    /// <summary>Whether the screen found nothing wrong (probabilistic: see <see cref="ProjectionCheck"/>).</summary>
    public bool Passed => Error is null && Failures.IsEmpty && !Unlocalised;

    /// <summary>Localised elements at a kink.</summary>
    public int Kinks => Elements.Count(e => e.IsKink);

    /// <summary>A report in gradcheck's style: the projection, the wrong elements and the cost.</summary>
    public string Describe(int maxElements = 8)
    {
        string head = $"{Op}({Attributes})";
        if (Error is not null) return $"{head}: projection screen could not run: {Error}";
        string screen = Screen?.ToString() ?? "no element can move";
        string cost = $"{Projections} projection(s), {ForwardPasses} forward passes";
        var sb = new StringBuilder();
        var failures = Failures;
        if (Passed)
        {
            sb.Append($"{head}: projection screen passed: {screen}; {cost}");
            if (!Elements.IsEmpty) sb.Append($"; {Elements.Length} elements localised and checked one by one, {Kinks} kinks, all acceptable");
        }
        else if (Unlocalised)
            sb.Append($"{head}: projection screen failed: {screen}; bisection found no wrong element ({Elements.Length} checked, {cost}): " +
                      "the errors are too small or too spread out to localise; run the full check");
        else
        {
            sb.Append($"{head}: projection screen failed: {screen}").AppendLine();
            sb.Append($"  {failures.Length} wrong element(s) localised among {Screened} in {cost}:").AppendLine();
            foreach (var e in Elements.Take(maxElements)) sb.Append("  ").Append(e).AppendLine();
            // One mismatch has no pattern to speak of (any ratio is "constant").
            if (failures.Length > 1 && GradCheckResult.Pattern(failures) is { } pattern) sb.Append("  pattern: ").Append(pattern);
        }
        if (LeftOut > 0) sb.AppendLine().Append($"  {LeftOut} non-finite input element(s) left out");
        if (ExcludedOutputs > 0) sb.AppendLine().Append($"  {ExcludedOutputs} non-finite output(s) left out");
        return sb.ToString().TrimEnd();
    }
}
