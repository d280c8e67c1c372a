using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Checking;

/// <summary>One configuration of one layer, with its inputs, for the built-in check.</summary>
/// <param name="Op">The layer.</param>
/// <param name="Inputs">Its inputs.</param>
/// <param name="Exercises">What the configuration exercises (ties, nan, padding-edge, ...).</param>
public sealed record CheckCase(IOp Op, NamedTensors Inputs, IReadOnlyList<string> Exercises)
{
    /// <summary>The input shape and attributes, for the table.</summary>
    public string Configuration => $"{Inputs["input"].Shape} {Op.Attributes}";
}

/// <summary>The outcome of one <see cref="CheckCase"/>: finite differences and invariants.</summary>
public sealed record CheckOutcome(CheckCase Case, GradCheckResult Gradients, InvariantReport Invariants)
{
    /// <summary>Both the finite-difference check and the invariants pass.</summary>
    public bool Passed => Gradients.Passed && Invariants.Holds;

    /// <summary>Runs one case: the op's own gradient through the checker and the op's invariants.</summary>
    public static CheckOutcome Run(CheckCase c, int seed = 1)
    {
        var dy = GradientChecker.RandomGradOutput(c.Op.Forward(c.Inputs).Shape, seed);
        var grads = GradientChecker.Check(c.Op, c.Inputs, dy);
        var inv = c.Op is IHasInvariants h && grads.Error is null
            ? h.CheckInvariants(c.Inputs, dy, c.Op.Backward(c.Inputs, dy))
            : new InvariantReport([], []);
        return new CheckOutcome(c, grads, inv);
    }
}

/// <summary>
/// The configurations `gradoracle check` runs: every built-in layer over ranks 1-3, ties under every
/// policy, NaN under both rules, -0.0, windows over padding, ceil_mode's last window, overlapping and
/// strided-apart windows. Inputs are seeded, so every run checks the same numbers.
/// </summary>
public static class CheckSuite
{
    /// <summary>All cases of the suite.</summary>
    public static IReadOnlyList<CheckCase> Pooling()
    {
        var cases = new List<CheckCase>();
        int seed = 100;
        void Add(IOp op, Tensor input, params string[] exercises) => cases.Add(new CheckCase(op, NamedTensors.Input(input), exercises));
        Shape S(params int[] d) => Shape.Of(d);
        Tensor D(params int[] d) => Samples.Distinct(S(d), seed++);
        Tensor T(params int[] d) => Samples.Ties(S(d), seed++);

        // Max pooling: geometry.
        Add(MaxPool.Create(2, [2]), D(2, 3, 6, 6), "basic");
        Add(MaxPool.Create(2, [3], [2], [1]), D(2, 2, 7, 7), "overlapping", "padding-edge");
        Add(MaxPool.Create(2, [3], [1]), D(1, 2, 6, 6), "overlapping");
        Add(MaxPool.Create(2, [2], [3]), D(1, 2, 8, 8), "stride-gt-kernel");
        Add(MaxPool.Create(2, [3], [2], [2], [2]), D(1, 2, 9, 9), "dilation", "padding-limit");
        Add(MaxPool.Create(2, [3, 2], [2, 1], [1, 0], ceilMode: true), D(1, 2, 8, 7), "ceil-last-window", "overlapping");
        Add(MaxPool.Create(2, [2], [2], [1], ceilMode: true), D(1, 1, 5, 5), "ceil-last-window", "padding-edge");
        Add(MaxPool.Create(1, [3], [2], [1]), D(2, 3, 11), "rank-1", "overlapping");
        Add(MaxPool.Create(3, [2]), D(1, 2, 4, 4, 4), "rank-3");
        Add(MaxPool.Create(3, [3], [2], [1], ceilMode: true), D(1, 1, 5, 6, 7), "rank-3", "ceil-last-window", "padding-edge");
        // Max pooling: ties under every policy, disjoint and overlapping windows.
        foreach (var policy in Enum.GetValues<TiePolicy>())
        {
            Add(MaxPool.Create(2, [2], tiePolicy: policy), T(1, 2, 6, 6), "ties");
            Add(MaxPool.Create(2, [3], [1], [1], tiePolicy: policy), T(1, 1, 5, 5), "ties", "overlapping", "padding-edge");
            Add(MaxPool.Create(1, [3], [2], tiePolicy: policy), T(2, 2, 9), "ties", "rank-1", "overlapping");
        }
        // NaN, -0.0 and -inf.
        var nanInput = Samples.With(Samples.With(D(1, 1, 4, 6), double.NaN, 0, 4, 5, 7, 8, 9, 10, 11), double.NaN, 22);
        Add(MaxPool.Create(2, [2]), nanInput, "nan");
        Add(MaxPool.Create(2, [2], nanRule: NanRule.Ignore), nanInput, "nan");
        var nanTies = Samples.With(T(1, 1, 4, 6), double.NaN, 0, 4, 5, 22);
        Add(MaxPool.Create(2, [3], [1], nanRule: NanRule.Ignore, tiePolicy: TiePolicy.Split), nanTies, "nan", "overlapping", "ties");
        Add(MaxPool.Create(2, [3], [1], tiePolicy: TiePolicy.All), nanTies, "nan", "overlapping", "ties");
        var zeros = Tensor.FromArray([1, 1, 2, 4], -0.0, 0.0, 0.0, -1, -1, -0.0, -2, -0.0);
        foreach (var policy in Enum.GetValues<TiePolicy>()) Add(MaxPool.Create(2, [2], tiePolicy: policy), zeros, "negative-zero", "ties");
        Add(MaxPool.Create(2, [2]), Samples.With(D(1, 1, 4, 4), double.NegativeInfinity, 0, 1, 4, 5), "infinity");
        // Adaptive and global max pooling.
        Add(MaxPool.Adaptive(1, [3]), D(2, 2, 7), "adaptive", "overlapping", "rank-1");
        Add(MaxPool.Adaptive(2, [3, 4]), D(1, 2, 7, 5), "adaptive", "overlapping");
        Add(MaxPool.Adaptive(2, [3, 2], TiePolicy.Split), T(1, 2, 5, 5), "adaptive", "ties", "overlapping");
        Add(MaxPool.Adaptive(3, [2, 3, 4]), D(1, 1, 5, 4, 6), "adaptive", "rank-3");
        Add(MaxPool.Global(1), D(2, 3, 5), "global", "rank-1");
        Add(MaxPool.Global(2), D(2, 3, 4, 3), "global");
        Add(MaxPool.Global(2, TiePolicy.All), T(1, 2, 3, 3), "global", "ties");
        Add(MaxPool.Global(3), D(1, 2, 2, 3, 2), "global", "rank-3");

        // Average pooling.
        Add(AvgPool.Create(2, [2]), D(2, 3, 4, 4), "basic");
        Add(AvgPool.Create(2, [3], [2], [1]), D(1, 2, 7, 7), "overlapping", "padding-edge", "count-include-pad");
        Add(AvgPool.Create(2, [3], [2], [1], countIncludePad: false), D(1, 2, 7, 7), "overlapping", "padding-edge");
        Add(AvgPool.Create(2, [3], [2], [1], ceilMode: true), D(1, 1, 6, 6), "ceil-last-window", "padding-edge", "count-include-pad");
        Add(AvgPool.Create(2, [3], [2], [1], ceilMode: true, countIncludePad: false), D(1, 1, 6, 6), "ceil-last-window", "padding-edge");
        Add(AvgPool.Create(2, [2], [3]), D(1, 2, 8, 8), "stride-gt-kernel");
        Add(AvgPool.Create(2, [3], [1], [1], divisorOverride: 5), D(1, 1, 5, 5), "divisor-override", "overlapping", "padding-edge");
        Add(AvgPool.Create(1, [4], [3], [2]), D(2, 2, 13), "rank-1", "overlapping", "padding-edge");
        Add(AvgPool.Create(3, [2], [1], [1], countIncludePad: false), D(1, 1, 4, 5, 3), "rank-3", "overlapping", "padding-edge");
        Add(AvgPool.Create(3, [3], [2], [1], ceilMode: true, divisorOverride: 7), D(1, 1, 5, 4, 6), "rank-3", "ceil-last-window", "divisor-override");
        Add(AvgPool.Adaptive(1, [4]), D(2, 2, 9), "adaptive", "rank-1", "overlapping");
        Add(AvgPool.Adaptive(2, [3, 2]), D(1, 2, 7, 5), "adaptive", "overlapping");
        Add(AvgPool.Adaptive(3, [2, 2, 3]), D(1, 1, 3, 5, 4), "adaptive", "rank-3");
        Add(AvgPool.Global(1), D(2, 2, 6), "global", "rank-1");
        Add(AvgPool.Global(2), D(2, 3, 5, 4), "global");
        Add(AvgPool.Global(3), D(1, 2, 3, 2, 4), "global", "rank-3");

        // Stochastic pooling: training with fixed uniforms, and evaluation.
        AddStochastic(cases, ref seed);
        return cases;
    }

    private static void AddStochastic(List<CheckCase> cases, ref int seed)
    {
        var configs = new (StochasticPool Op, int[] Shape, string[] Exercises)[]
        {
            (StochasticPool.Create(2, [2]), [2, 2, 6, 6], ["training"]),
            (StochasticPool.Create(2, [3], [2], ceilMode: true), [1, 2, 6, 7], ["training", "overlapping", "ceil-last-window"]),
            (StochasticPool.Create(1, [3], [2]), [2, 2, 9], ["training", "rank-1", "overlapping"]),
            (StochasticPool.Create(3, [2]), [1, 1, 4, 4, 4], ["training", "rank-3"]),
            (StochasticPool.Create(2, [3], [2], training: false), [1, 2, 7, 7], ["evaluation", "overlapping"]),
            (StochasticPool.Create(1, [2], training: false), [2, 2, 8], ["evaluation", "rank-1"]),
            (StochasticPool.Create(3, [2], [1], training: false), [1, 1, 3, 3, 3], ["evaluation", "rank-3", "overlapping"]),
        };
        foreach (var (op, dims, exercises) in configs)
        {
            var input = Samples.Positive(Shape.Of(dims), seed++);
            var inputs = NamedTensors.Input(input);
            if (op.Training)
            {
                var outShape = PoolingWindows.OutputShape(input.Shape, op.Windows.For(input.Shape));
                inputs = inputs.With("uniforms", Samples.Uniforms(outShape, seed++));
            }
            cases.Add(new CheckCase(op, inputs, exercises));
        }
    }
}
