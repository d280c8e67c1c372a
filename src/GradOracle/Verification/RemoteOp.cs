using GradOracle.Layers;
using GradOracle.Protocol;
using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>
/// The implementation behind the IOp interface, for the finite-difference checker (with the oracle op's Jacobian
/// structure); a batch of forward passes goes out pipelined. Every answer must be a run reply of the case's own
/// output shape; the first that is not ends the check with <see cref="Failure"/> said in words.
/// </summary>
internal sealed class RemoteOp(ImplementationClient client, WorkItem item, Shape outputShape, DateTime? deadline, CancellationToken interrupt = default) : IOp, IHasJacobianStructure, IBatchedForward
{
    private int requests;

    public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) =>
        (item.Oracle as IHasJacobianStructure)?.StructureOf(input, inputs, outputShape);

    public IReadOnlySet<int>? ConstantElements(string input, NamedTensors inputs) =>
        (item.Oracle as IHasJacobianStructure)?.ConstantElements(input, inputs);

    /// <summary>What ended the check early: the implementation's failure, in words; null when nothing did.</summary>
    public string? Failure { get; private set; }

    /// <summary>Whether the run's budget, not the implementation, ended the check.</summary>
    public bool OutOfTime { get; private set; }

    public string Name => item.Oracle.Name;
    public OpAttributes Attributes => item.Oracle.Attributes;
    public IReadOnlyList<string> DifferentiableInputs => item.Oracle.DifferentiableInputs;

    public Tensor Forward(NamedTensors inputs)
    {
        var request = Request(inputs, null);
        int k = ++requests;
        return Output(Answer(client.Run(request), k), k);
    }

    public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput)
    {
        var request = Request(inputs, gradOutput);
        var r = Answer(client.Run(request), ++requests);
        Output(r, requests);
        var grads = r.Grads ?? new NamedTensors();
        foreach (var name in DifferentiableInputs)
        {
            if (!grads.Contains(name)) throw Fail($"request {requests} of the check (the case's backward again) answered without grads.{name}");
            if (grads[name].Shape != inputs[name].Shape)
                throw Fail($"request {requests} of the check (the case's backward again) answered grads.{name} with shape {grads[name].Shape}, not the input's {inputs[name].Shape}");
        }
        return grads;
    }

    // The first failure ends the check: the requests after it are not worth a restart each.
    public IReadOnlyList<Tensor> ForwardAll(IReadOnlyList<NamedTensors> inputs)
    {
        RunRequest[] batch = [.. inputs.Select(x => Request(x, null))];
        int first = requests;
        requests += inputs.Count;
        return client.RunAll(batch, stopAtFirstFailure: true)
            .Select((o, k) => Output(Answer(o, first + k + 1), first + k + 1)).ToList();
    }

    private RunRequest Request(NamedTensors inputs, Tensor? dy)
    {
        CheckTime();
        return new(0, item.Oracle.Name, item.Attributes, inputs, dy);
    }

    private void CheckTime()
    {
        if (deadline is { } d && DateTime.UtcNow >= d)
        {
            OutOfTime = true;
            throw Fail($"the run's --budget was spent after {requests} of the check's requests");
        }
        if (interrupt.IsCancellationRequested) throw Fail($"the run was interrupted after {requests} of the check's requests");
    }

    private Tensor Output(RunResponse r, int k) => r.Output.Shape == outputShape ? r.Output
        : throw Fail($"request {k} of the check (a forward pass) answered an output of shape {r.Output.Shape}; the case's own answer had {outputShape}");

    private RunResponse Answer(Outcome outcome, int k) => outcome switch
    {
        Outcome.Answered { Response: RunResponse r } => r,
        Outcome.Failed f => throw Fail($"request {k} of the check: {f.Kind}: {f.Reason}"),
        Outcome.Answered { Response: ErrorResponse e } => throw Fail($"request {k} of the check: the implementation reported an error: {e.Message}"),
        Outcome.Answered { Response: UnsupportedResponse } => throw Fail($"request {k} of the check: answered unsupported, for the configuration it answered before"),
        _ => throw Fail($"request {k} of the check: answered with a hello reply"),
    };

    private ParameterException Fail(string why)
    {
        Failure ??= why;
        return new ParameterException("implementation", item.Oracle.Name, why);
    }
}
