using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>The working state of one case: what was sent, expected, received and concluded.</summary>
internal sealed class Evaluation
{
    public required string Dtype { get; init; }
    public required NamedTensors Inputs { get; init; }
    public required Tensor GradOutput { get; init; }
    public Tensor? Expected { get; set; }
    public NamedTensors? ExpectedGrads { get; set; }
    public Tensor? Actual { get; set; }
    public NamedTensors? ActualGrads { get; set; }
    public CaseStatus Status { get; set; }
    public string Summary { get; set; } = "";
    public List<TensorDiff> Diffs { get; } = [];
    public List<string> Diagnosis { get; } = [];
    public List<string> Notes { get; } = [];
    public Dictionary<string, (Tensor Expected, Tensor Actual)> Tensors { get; } = [];

    public CaseResult ToResult(WorkItem item, VerifyOptions o, double seconds) =>
        Verifier.Result(item, o, Status, Summary, Diffs, Diagnosis, Notes, seconds) with { Tensors = Tensors.Count > 0 ? new Dictionary<string, (Tensor, Tensor)>(Tensors) : null };
}
