using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Protocol;
using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>
/// The implementation behind the IOp interface, for the finite-difference checker (with the oracle op's Jacobian
/// structure); a batch of forward passes goes out pipelined.
/// </summary>
internal sealed class RemoteOp(ImplementationClient client, WorkItem item) : IOp, IHasJacobianStructure, IBatchedForward
{
    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) =>
        (item.Oracle as IHasJacobianStructure)?.StructureOf(input, inputs, outputShape);

    public string? Failure { get; private set; }
    public string Name => item.Oracle.Name;
    public OpAttributes Attrs => item.Oracle.Attrs;
    public IReadOnlyList<string> DifferentiableInputs => item.Oracle.DifferentiableInputs;

    public Tensor Forward(NamedTensors inputs) => Answer(client.Run(Request(inputs, null))).Output;

    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput) => Answer(client.Run(Request(inputs, gradOutput))).Grads ?? new NamedTensors();

    // The first failure ends the check: the requests after it are not worth a restart each.
    public IReadOnlyList<Tensor> ForwardAll(IReadOnlyList<NamedTensors> inputs) =>
        client.RunAll([.. inputs.Select(x => Request(x, null))], stopAtFirstFailure: true).Select(o => Answer(o).Output).ToList();

    private RunRequest Request(NamedTensors inputs, Tensor? dy) => new(0, item.Oracle.Name, item.Attrs, inputs, dy);

    private RunResponse Answer(Outcome outcome)
    {
        if (outcome is Outcome.Answered { Response: RunResponse r }) return r;
        Failure = outcome.ToString();
        throw new ParameterException("implementation", item.Oracle.Name, $"did not answer: {outcome}");
    }
}
