using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Cases;

/// <summary>
/// Checks a committed set: each file follows the format (the committed schema, evaluated by JsonSchema.Net, and
/// the reader's own rules), ids are unique and match
/// their paths, the expected values match the oracle within their tolerances, the expected gradients
/// agree with finite differences of the forward and satisfy the op's invariants, and the oracle agrees
/// with the second oracle where it has the op.
/// </summary>
public static class CaseVerifier
{
    /// <summary>
    /// Verifies every verified file of <paramref name="store"/>, in path order: a file that does not load
    /// (<see cref="CaseStore.LoadAll"/>) is one failed result with the reason, and the others are still verified.
    /// </summary>
    public static IReadOnlyList<CaseVerification> Verify(CaseStore store, ICrossCheck? crossCheck)
    {
        // A loaded case's id is its file's place, so ids are unique.
        var load = store.LoadAll();
        return load.Bad.Select(b => new CaseVerification(b.Path, null, [b.Reason]))
            .Concat(load.Cases.Select(c => new CaseVerification(store.VerifiedPath(c.Id), c.Id, Problems(c, crossCheck))))
            .OrderBy(r => r.Path, StringComparer.Ordinal)
            .ToList();
    }

    private static List<string> Problems(ReferenceCase c, ICrossCheck? crossCheck)
    {
        var problems = new List<string>();
        try
        {
            var cmp = CaseComparison.AgainstOracle(c);
            if (!cmp.Passed) problems.Add("oracle: " + cmp.Describe());
            var recorded = new RecordedGradients(c);
            var fd = GradientChecker.Check(recorded, c.Inputs, c.GradOutput);
            if (!fd.Passed) problems.Add("finite differences: " + fd.Describe());
            if (c.CreateOp() is IHasInvariants h && h.CheckInvariants(c.Inputs, c.GradOutput, c.ExpectedGrads) is { Holds: false } inv)
                problems.Add("invariants: " + inv);
            if (crossCheck is not null && crossCheck.Compare(c.CreateOp(), c.Inputs, c.GradOutput) is { Agrees: false } x)
                problems.Add("libtorch: " + x.Note);
        }
        catch (ParameterException e) { problems.Add($"the oracle refuses the case: {e.Message}"); }
        return problems;
    }

    /// <summary>
    /// The case's op, but with the file's expected gradients as its backward, so that finite differences
    /// check the file's numbers. When the checker restricts dY (the case has NaN outputs) the file holds
    /// no values for that dY; the oracle answers, and the file is held to the oracle separately.
    /// </summary>
    private sealed class RecordedGradients(ReferenceCase c) : IOp, IHasJacobianStructure
    {
        private readonly IOp op = c.CreateOp();

        // Element by element, uncompressed, as ever; only the gradients the op defines as 0 are passed on.
        public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) => null;
        public IReadOnlySet<int>? ConstantElements(string input, NamedTensors inputs) => (op as IHasJacobianStructure)?.ConstantElements(input, inputs);

        public string Name => op.Name;
        public OpAttributes Attributes => op.Attributes;
        public IReadOnlyList<string> DifferentiableInputs => op.DifferentiableInputs;
        public Tensor Forward(NamedTensors inputs) => op.Forward(inputs);

        public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput) =>
            gradOutput.Span.SequenceEqual(c.GradOutput.Span) ? c.ExpectedGrads : op.Backward(inputs, gradOutput);
    }
}
