using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Checking;

/// <summary>
/// The configurations `gradoracle check` runs: every built-in layer over ranks 1-3, ties under every
/// policy, NaN under both rules, -0.0, windows over padding, ceil_mode's last window, overlapping and
/// strided-apart windows. Inputs are seeded, so every run checks the same numbers.
/// </summary>
public static class CheckSuite
{
    /// <summary>Every case: pooling, the other layers, and the example networks.</summary>
    public static IReadOnlyList<CheckCase> All() => [.. Pooling(), .. Layers(), .. Examples(), .. Networks()];

    /// <summary>The pooling cases.</summary>
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
        Add(MaxPool.Create(2, [4], [2], [2], [2]), D(1, 2, 9, 9), "dilation", "padding-limit");
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

    /// <summary>Convolution, linear, activations, softmax, cross-entropy, batch norm and flatten.</summary>
    public static IReadOnlyList<CheckCase> Layers()
    {
        var cases = new List<CheckCase>();
        int seed = 500;
        Tensor D(params int[] d) => Samples.Distinct(Shape.Of(d), seed++);
        Tensor W(double scale, params int[] d) => Samples.Scaled(Shape.Of(d), seed++, scale);
        void Add(IOp op, NamedTensors inputs, params string[] exercises) => cases.Add(new CheckCase(op, inputs, exercises));
        NamedTensors Conv(Tensor x, Tensor w, bool bias = true) => bias
            ? new NamedTensors(("input", x), ("weight", w), ("bias", W(0.5, w.Shape[0])))
            : new NamedTensors(("input", x), ("weight", w));

        // Convolution.
        Add(Convolution.Create(1, [2], ConvPadding.Of(1)), Conv(D(2, 3, 9), W(0.5, 4, 3, 3)), "rank-1", "stride", "padding");
        Add(Convolution.Create(2, padding: ConvPadding.Of(1)), Conv(D(2, 3, 6, 6), W(0.3, 4, 3, 3, 3)), "padding");
        Add(Convolution.Create(2, [2], dilation: [2], bias: false), Conv(D(1, 2, 9, 8), W(0.5, 3, 2, 3, 2), bias: false), "stride", "dilation", "no-bias", "odd-sizes");
        Add(Convolution.Create(2, [1, 2], ConvPadding.Of(1, 0), groups: 2), Conv(D(2, 4, 5, 5), W(0.4, 6, 2, 3, 3)), "groups", "stride", "padding");
        Add(Convolution.Create(2, padding: ConvPadding.Same, dilation: [1, 2]), Conv(D(1, 2, 5, 6), W(0.5, 2, 2, 2, 4)), "same", "dilation", "even-kernel");
        Add(Convolution.Create(2, padding: ConvPadding.Valid), Conv(D(1, 1, 7, 5), W(0.5, 2, 1, 4, 3)), "valid", "odd-sizes");
        Add(Convolution.Create(2, padding: ConvPadding.Of(1), groups: 3), Conv(D(1, 3, 5, 5), W(0.5, 3, 1, 3, 3)), "groups", "depthwise");
        Add(Convolution.Create(3, padding: ConvPadding.Of(1)), Conv(D(1, 2, 4, 5, 3), W(0.4, 3, 2, 2, 3, 2)), "rank-3", "padding");
        Add(Convolution.Create(3, [2], groups: 2), Conv(D(1, 4, 5, 5, 5), W(0.4, 2, 2, 3, 3, 3)), "rank-3", "stride", "groups");
        // Linear.
        Add(new Linear(), new NamedTensors(("input", D(3, 5)), ("weight", W(0.5, 4, 5)), ("bias", W(0.5, 4))), "basic");
        Add(new Linear(bias: false), new NamedTensors(("input", D(2, 3, 4)), ("weight", W(0.5, 2, 4))), "no-bias", "leading-dims");
        // Activations, with exact zeros where relu and leaky_relu kink.
        var withZeros = Samples.With(D(2, 3, 4), 0.0, 0, 5, 17);
        Add(Activation.Relu(), NamedTensors.Input(withZeros), "kink-at-zero");
        Add(Activation.LeakyRelu(), NamedTensors.Input(withZeros), "kink-at-zero");
        Add(Activation.LeakyRelu(0.2), NamedTensors.Input(D(3, 4)), "negative-slope");
        Add(Activation.Sigmoid(), NamedTensors.Input(D(2, 5)), "smooth");
        Add(Activation.Tanh(), NamedTensors.Input(D(2, 5)), "smooth");
        // Softmax family.
        Add(new Softmax(1), NamedTensors.Input(D(3, 5)), "dim-1");
        Add(new Softmax(-1), NamedTensors.Input(D(2, 3, 4)), "dim-negative");
        Add(new Softmax(0), NamedTensors.Input(D(4, 3)), "dim-0");
        Add(new Softmax(1, log: true), NamedTensors.Input(D(2, 4, 3)), "dim-1");
        NamedTensors Ce(Tensor x, params double[] target) =>
            new(("input", x), ("target", Tensor.FromArray(new[] { x.Shape[0] }.Concat(x.Shape.Slice(2)).ToArray(), target)));
        Add(new CrossEntropy(), Ce(D(4, 5), 0, 4, 2, 2), "mean");
        Add(new CrossEntropy(Reduction.Sum), Ce(D(4, 5), 1, 3, 3, 0), "sum");
        Add(new CrossEntropy(Reduction.None), Ce(D(3, 4), 3, 0, 1), "none");
        Add(new CrossEntropy(), Ce(D(2, 3, 4), 0, 1, 2, 1, 2, 2, 0, 0), "mean", "spatial");
        // Batch norm, both modes.
        NamedTensors Bn(Tensor x, bool running = false)
        {
            int c = x.Shape[1];
            var t = new NamedTensors(("input", x), ("weight", Samples.Positive(Shape.Of(c), seed++)), ("bias", W(0.5, c)));
            return running ? t.With("running_mean", W(0.5, c)).With("running_var", Samples.Positive(Shape.Of(c), seed++)) : t;
        }
        Add(new BatchNorm(training: true), Bn(D(4, 3)), "training");
        Add(new BatchNorm(training: true), Bn(D(2, 3, 4, 4)), "training", "rank-2");
        Add(new BatchNorm(training: true), Bn(D(2, 2, 3, 2, 2)), "training", "rank-3");
        Add(new BatchNorm(training: false), Bn(D(2, 3, 5), running: true), "evaluation");
        Add(new BatchNorm(training: true, affine: false), NamedTensors.Input(D(3, 2, 4)), "training", "no-affine");
        // Flatten.
        Add(new Flatten(), NamedTensors.Input(D(2, 3, 4, 5)), "basic");
        Add(new Flatten(2), NamedTensors.Input(D(2, 3, 2, 2)), "start-dim");
        return cases;
    }

    /// <summary>The configurations the ops' descriptors pick for themselves, in registry order.</summary>
    public static IReadOnlyList<CheckCase> Examples() => [.. OpFactory.Descriptors.SelectMany(d => d.Examples())];

    /// <summary>The example networks, checked end to end for the input and every parameter.</summary>
    public static IReadOnlyList<CheckCase> Networks() =>
    [
        Network(ExampleNetworks.SourceDocuments()),
        Network(ExampleNetworks.Sequence1d()),
        Network(ExampleNetworks.Volume3d()),
        Network(ExampleNetworks.ResNetBlock()),
    ];

    private static CheckCase Network((Sequential Network, NamedTensors Inputs) n) => new(n.Network, n.Inputs, ["network"]);
}
