using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>The working state of one case: what was sent, expected, received and concluded.</summary>
internal sealed class Evaluation
{
    public required string Dtype { get; init; }
    public required NamedTensors Inputs { get; init; }
    public required Tensor GradOutput { get; init; }
    /// <summary>The conventions the case is judged by, and the op that computes its expected values.</summary>
    public CaseRules? Rules { get; set; }
    public OpResult? Expected { get; set; }
    public OpResult? Actual { get; set; }
    /// <summary>The comparison rule the case was judged by (allowances of the implementation's dtype).</summary>
    public AnswerComparer? Comparer { get; set; }
    public CaseStatus Status { get; set; }
    /// <summary>Whether the verdict itself says why the answer is wrong (a choice outside the valid set, one a required rule forbids).</summary>
    public bool Explained { get; set; }
    public string Summary { get; set; } = "";
    public List<TensorDiff> Diffs { get; } = [];
    public List<string> Diagnosis { get; } = [];
    public List<string> Notes { get; } = [];
    public List<Convention> Conventions { get; } = [];
    public List<string> Situations { get; } = [];
    public Dictionary<string, ExpectedAndActual> Tensors { get; } = [];

    /// <summary>The expected tensor under a report key ("output", "grads.input").</summary>
    public Tensor ExpectedAt(string key) => Expected![key] ?? throw new KeyNotFoundException(key);

    public CaseResult ToResult(WorkItem item, VerifyOptions o, double seconds) =>
        Verifier.Result(item, o, Status, Summary, Diffs, Diagnosis, Notes, seconds) with
        {
            // Only a case the report draws keeps its tensors, as its inputs below.
            Tensors = Tensors.Count > 0 && Status is CaseStatus.Fail or CaseStatus.Error ? new Dictionary<string, ExpectedAndActual>(Tensors) : null,
            // Only a case the report draws keeps its inputs: a long run of large passing cases holds no copies.
            Inputs = Status is CaseStatus.Fail or CaseStatus.Error ? Inputs.Items.ToDictionary(i => i.Name, i => i.Value) : null,
            Conventions = [.. Conventions],
            Situations = [.. Situations],
        };
}
