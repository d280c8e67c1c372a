using System.Collections.Immutable;
using System.Text;
using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Cases;

/// <summary>
/// Builds the golden reference set deterministically: every pooling and layer configuration of
/// `gradoracle check`, the source documents' worked examples, and small seeded random configurations.
/// A case is written only if finite differences, the op's invariants and (where it has the op) the
/// second oracle agree with the expected values; provenance records each comparison.
/// </summary>
public static class CaseGenerator
{
    /// <summary>Generator and format version, recorded in every case.</summary>
    public const string Generator = "gradoracle-cases 1";

    /// <summary>Relative tolerance (and absolute, scaled) for non-selection tensors: float64 implementations agree far below it.</summary>
    public const double Rtol = 1e-11;

    /// <summary>A configuration to turn into a case, with an optional fixed upstream gradient, description and seed for its upstream gradient.</summary>
    public sealed record Source(CheckCase Case, Tensor? GradOutput = null, string? Description = null, int? Seed = null);

    /// <summary>Every source, in a fixed order.</summary>
    public static IReadOnlyList<Source> Sources()
    {
        var list = new List<Source>();
        // The source documents' worked examples.
        var doc = Tensor.FromArray([1, 1, 2, 2], 1, 3, 2, 2);
        list.Add(new Source(new CheckCase(MaxPool.Create(2, [2]), NamedTensors.Input(doc), ["source-example"]),
            Tensor.FromArray([1, 1, 1, 1], 3), "source documents: max of [1 3; 2 2] is 3, backward [3] -> [0 3; 0 0]"));
        list.Add(new Source(new CheckCase(AvgPool.Create(2, [2]), NamedTensors.Input(doc), ["source-example"]),
            Tensor.FromArray([1, 1, 1, 1], 2), "source documents: mean of [1 3; 2 2] is 2, backward [2] -> [0.5 0.5; 0.5 0.5]"));
        list.Add(new Source(new CheckCase(Convolution.Create(2), new NamedTensors(
                ("input", Tensor.FromArray([1, 1, 3, 3], 1, 2, 0, 0, 1, 3, 2, 1, 1)), ("weight", Tensor.FromArray([1, 1, 2, 2], 1, 0, -1, 2)), ("bias", Tensor.FromArray([1], 0.5))),
                ["source-example"]),
            Tensor.FromArray([1, 1, 2, 2], -1, -2, 1, 0.5), "source documents' dA/dW/db walk-through: 3x3 input, 2x2 kernel, worked by hand in the tests"));
        list.AddRange(CheckSuite.Pooling().Concat(CheckSuite.Layers()).Select(c => new Source(c)));
        // Seeded by their content, not their place: a new op takes over the random cases it wins and leaves the others as they were.
        list.AddRange(RandomCases.Generate(5150, 400).Where(c => c.Inputs.Items.Sum(i => i.Value.Count) <= 64).Take(64).Select(c => new Source(c, Seed: ContentSeed(c))));
        // Two values per channel: the input's gradient cancels to rounding, where an allowance from the result would fail it.
        var pair = Samples.Distinct(Shape.Of(2, 3), 2024);
        list.Add(new Source(new CheckCase(new BatchNorm(training: true), new NamedTensors(("input", pair), ("weight", Samples.Positive(Shape.Of(3), 2025)),
            ("bias", Samples.Scaled(Shape.Of(3), 2026, 0.5))), ["training", "two-per-channel"])));
        list.Add(new Source(new CheckCase(new BatchNorm(training: true, affine: false), NamedTensors.Input(pair), ["training", "no-affine", "two-per-channel"])));
        list.AddRange(CheckSuite.Examples().Select(c => new Source(c, Seed: ContentSeed(c)))); // content-seeded too: an op's new example moves no other's
        return list;
    }

    // FNV-1a over the case's op, configuration and inputs' bits: the same case gets the same grad_output in any list.
    private static int ContentSeed(CheckCase c)
    {
        var h = new Fnv1a();
        h.Add(c.Op.Name + " " + c.Configuration);
        foreach (var (_, t) in c.Inputs.Items)
            for (int i = 0; i < t.Count; i++) h.Add((ulong)BitConverter.DoubleToInt64Bits(t.At(i)));
        return (int)(h.Value & 0x7FFFFFFF);
    }

    /// <summary>Builds every case; cases that any check refuses are returned separately, never in the set.</summary>
    public static (IReadOnlyList<ReferenceCase> Cases, IReadOnlyList<CaseRefusedException> Refused) Generate(ICrossCheck? crossCheck)
    {
        var cases = new List<ReferenceCase>();
        var refused = new List<CaseRefusedException>();
        var ids = new HashSet<string>();
        int index = 0;
        foreach (var s in Sources())
        {
            try
            {
                var c = Build(s, seed: s.Seed ?? 1000 + index, crossCheck);
                index++;
                if (ids.Add(c.Id)) cases.Add(c);
            }
            catch (CaseRefusedException e) { refused.Add(e); }
        }
        return (cases, refused);
    }

    /// <summary>One case from one source; throws <see cref="CaseRefusedException"/> when a check disagrees.</summary>
    public static ReferenceCase Build(Source s, int seed, ICrossCheck? crossCheck)
    {
        var op = s.Case.Op;
        var inputs = s.Case.Inputs;
        // The expected values from the readable reference where the op also has a fast kernel; the checks use the op.
        var reference = (op as IHasReferencePath)?.ReferencePath ?? op;
        var output = reference.Forward(inputs);
        var dy = s.GradOutput ?? GradientChecker.RandomGradOutput(output.Shape, seed);
        var grads = reference.Backward(inputs, dy);
        var attrs = new OpAttributes(op.Attributes.Where(a => a.Key is not ("tie_policy" or "nan_rule")).Select(a => (a.Key, (object?)a.Value)).ToArray());
        string? tie = op.Attributes.Contains("tie_policy") ? (string)op.Attributes["tie_policy"] : null;
        string? nan = op.Attributes.Contains("nan_rule") ? (string)op.Attributes["nan_rule"] : null;
        var flags = s.Case.Exercises.ToImmutableArray();
        string id = $"{op.Name}/{Slug(flags)}-{Hash(op.Name, attrs, tie, nan, inputs, dy)}";

        // The 5-point stencil everywhere: the file records the best finite-difference estimate, not the cheapest.
        var fd = GradientChecker.Check(op, inputs, dy, new GradCheckOptions { ThreePointFirst = false });
        if (!fd.Passed) throw new CaseRefusedException(id, "finite differences disagree: " + fd.Describe());
        if (op is IHasInvariants h && h.CheckInvariants(inputs, dy, grads) is { Holds: false } inv)
            throw new CaseRefusedException(id, "invariants broken: " + inv);

        string? version = crossCheck?.Version;
        double? torchDiff = null;
        string? torchNone = crossCheck is null ? "no second oracle was available when this case was generated" : null;
        if (crossCheck is not null)
        {
            var r = crossCheck.Compare(op, inputs, dy);
            if (!r.Agrees) throw new CaseRefusedException(id, "libtorch disagrees: " + r.Note);
            if (r.Compared) torchDiff = r.MaxRelativeDifference; else torchNone = r.Note;
        }

        IndexTensor? ix = op.Descriptor.Indices(op, inputs);
        bool exact = Tolerance.ComparesExactly(op);
        double gradScale = Tolerance.GradientScale(grads);
        CaseTolerance Tol(double scale) => exact ? CaseTolerance.ExactMatch : new CaseTolerance(false, Rtol * Math.Max(scale, double.Epsilon), Rtol);
        var tolerances = new List<KeyValuePair<string, CaseTolerance>> { new("output", Tol(Tolerance.MaxAbs(output))) };
        tolerances.AddRange(grads.Items.Select(g => KeyValuePair.Create($"grads.{g.Name}", Tol(gradScale))));
        if (ix is not null) tolerances.Add(new("indices", CaseTolerance.ExactMatch));
        var extras = (reference as IHasExtraOutputs)?.ExtraOutputs(inputs);
        tolerances.AddRange(extras?.Items.Select(x => KeyValuePair.Create($"extras.{x.Name}", Tol(Tolerance.MaxAbs(x.Value)))) ?? []);

        string description = s.Description ?? $"{op.Name} on {string.Join(", ", inputs.Items.Select(i => $"{i.Name} {i.Value.Shape}"))}" +
            (flags.IsEmpty ? "" : $"; exercises {string.Join(", ", flags)}");
        return new ReferenceCase(id, op.Name, description, flags, tie, nan, attrs, inputs, dy, output, grads,
            ix is null ? null : Tensor.FromArray(ix.Shape, ix.Data.Select(v => (double)v).ToArray()), [.. tolerances],
            new CaseProvenance(Generator, fd.WorstAbsoluteError, fd.Checked, fd.Kinks, version, torchDiff, torchNone)) { ExpectedExtras = extras };
    }

    private static string Slug(ImmutableArray<string> flags) => flags.IsEmpty ? "basic" : string.Join("-", flags.Take(3));

    /// <summary>FNV-1a over the case's defining content: ids stay put when other cases are added or removed.</summary>
    private static string Hash(string op, OpAttributes attrs, string? tie, string? nan, NamedTensors inputs, Tensor dy)
    {
        var text = new StringBuilder(op).Append('|').Append(string.Join(",", attrs.Select(a => $"{a.Key}={CaseJson.Value(a.Value)}")))
            .Append('|').Append(tie).Append('|').Append(nan);
        foreach (var (name, t) in inputs.Items) text.Append('|').Append(name).Append(TensorJsonConverter.Text(t));
        text.Append('|').Append(TensorJsonConverter.Text(dy));
        var h = new Fnv1a();
        foreach (var b in Encoding.UTF8.GetBytes(text.ToString())) h.Add(b);
        return (h.Value & 0xffffffff).ToString("x8");
    }
}
