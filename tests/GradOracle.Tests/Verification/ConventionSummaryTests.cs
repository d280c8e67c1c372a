using GradOracle.Layers;
using System.Collections.Immutable;
using GradOracle.Verification;

namespace GradOracle.Tests.Verification;

/// <summary>The findings across cases: counts of what each case did, never a choice a case did not show.</summary>
public class ConventionSummaryTests
{
    private static CaseResult Case(CaseStatus status, params Convention[] conventions) =>
        new("max_pool2d/x", "max_pool2d", "", "reference", status, "", [], [], [], "", 0)
        { Situations = ["tie_policy"], Conventions = [.. conventions] };

    private static readonly Convention First = new("tie_policy", "first", 2, "tied maxima: the first receives the gradient, in 2 window(s) (PyTorch's rule)");
    private static readonly Convention Last = new("tie_policy", "last", 2, "tied maxima: the last receives the gradient, in 2 window(s) (PyTorch: the first)");

    [Test]
    public void A_declared_choice_is_credited_only_to_the_cases_that_passed_by_it()
    {
        var cases = new[] { Case(CaseStatus.Pass), Case(CaseStatus.Fail, First), Case(CaseStatus.Fail) };
        var finding = ConventionSummary.Findings(cases, new Dictionary<string, string> { ["tie_policy"] = "last" }, strict: false).Single(f => f.StartsWith("tie_policy"));
        Assert.That(finding, Is.EqualTo("tie_policy (tied maxima in a window) arises in 3 case(s): first in 1, the declared last in 1, not determined in 1 (they fail otherwise); declared, so held strictly"));
    }

    [Test]
    public void Under_strict_the_cases_that_pass_followed_pytorchs_choice_whatever_was_declared()
    {
        var cases = new[] { Case(CaseStatus.Pass), Case(CaseStatus.Fail, Last) };
        var finding = ConventionSummary.Findings(cases, new Dictionary<string, string> { ["tie_policy"] = "last" }, strict: true).Single(f => f.StartsWith("tie_policy"));
        Assert.That(finding, Is.EqualTo("tie_policy (tied maxima in a window) arises in 2 case(s): last in 1, PyTorch's first in 1; --strict holds it to PyTorch's choice"));
    }
}
