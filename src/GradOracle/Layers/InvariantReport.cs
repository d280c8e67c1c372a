using System.Collections.Immutable;

namespace GradOracle.Layers;

/// <summary>The invariants checked on one gradient and those that broke.</summary>
public sealed class InvariantReport
{
    /// <summary>Creates a report.</summary>
    public InvariantReport(IEnumerable<string> checkedInvariants, IEnumerable<InvariantViolation> violations)
    {
        Checked = checkedInvariants.Distinct().ToImmutableArray();
        Violations = violations.ToImmutableArray();
    }

    /// <summary>Names of the invariants that were checked.</summary>
    public ImmutableArray<string> Checked { get; }

    /// <summary>The violations; empty when every invariant holds.</summary>
    public ImmutableArray<InvariantViolation> Violations { get; }

    /// <summary>Whether every checked invariant holds.</summary>
    public bool Holds => Violations.IsEmpty;

    /// <summary>Whether the named invariant was checked and broke.</summary>
    public bool Broke(string invariant) => Violations.Any(v => v.Invariant == invariant);

    /// <inheritdoc/>
    public override string ToString() => Holds
        ? $"invariants hold: {string.Join("; ", Checked)}"
        : string.Join(Environment.NewLine, Violations.Select(v => "invariant broken: " + v));

    /// <summary>Collects checks and violations.</summary>
    internal sealed class Builder
    {
        private readonly List<string> names = [];
        private readonly List<InvariantViolation> violations = [];

        public void Checked(string invariant) => names.Add(invariant);

        public void Violated(string invariant, string message)
        {
            names.Add(invariant);
            violations.Add(new InvariantViolation(invariant, message));
        }

        /// <summary>Compares two sums with a rounding allowance proportional to the magnitude summed.</summary>
        public void SumsAgree(string invariant, double actual, double expected, double magnitude, int terms, Func<double, string>? explain = null)
        {
            if (!double.IsFinite(actual) || !double.IsFinite(expected) || !double.IsFinite(magnitude))
            {
                if (double.IsFinite(expected) && !double.IsFinite(actual))
                    Violated(invariant, $"the gradient's sum is {actual} where {expected:R} was expected");
                return; // a non-finite upstream gradient leaves nothing to compare
            }
            Checked(invariant);
            double allowed = Tolerance.SumRounding(terms, magnitude);
            if (Math.Abs(actual - expected) > allowed)
            {
                string ratio = expected != 0 ? $" (ratio {actual / expected:G6})" : "";
                violations.Add(new InvariantViolation(invariant,
                    $"{actual:R} where {expected:R} was expected{ratio}; allowed rounding {allowed:G3}" + (explain?.Invoke(actual) is { Length: > 0 } e ? $". {e}" : "")));
            }
        }

        public InvariantReport Build() => new(names, violations);
    }
}
