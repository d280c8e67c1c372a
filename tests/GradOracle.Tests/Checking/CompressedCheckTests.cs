using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Tests.Checking;

public class CompressedCheckTests
{
    private static IEnumerable<TestCaseData> Cases() =>
        CheckSuite.All().Where(c => c.Op is IHasJacobianStructure).Select(c => new TestCaseData(c).SetArgDisplayNames($"{c.Op.Name} {c.Configuration}"));

    [TestCaseSource(nameof(Cases))]
    public void Compressed_differences_give_bit_for_bit_the_element_by_element_results(CheckCase c)
    {
        var dy = GradientChecker.RandomGradOutput(c.Op.Forward(c.Inputs).Shape, 1);
        var compressed = GradientChecker.Check(c.Op, c.Inputs, dy);
        var plain = GradientChecker.Check(c.Op, c.Inputs, dy, new GradCheckOptions { Compress = false, Parallel = false });
        Assert.That(compressed.Elements.Select(e => (e.Numeric, e.ErrorEstimate, e.IsKink, e.Lower, e.Upper, e.Verdict)),
            Is.EqualTo(plain.Elements.Select(e => (e.Numeric, e.ErrorEstimate, e.IsKink, e.Lower, e.Upper, e.Verdict))));
    }

    [TestCaseSource(nameof(Cases))]
    public void A_structure_lays_out_a_colour_in_bulk_as_it_names_each_output_s_owner(CheckCase c)
    {
        var outputShape = c.Op.Forward(c.Inputs).Shape;
        foreach (var name in c.Op.DifferentiableInputs)
        {
            if (((IHasJacobianStructure)c.Op).StructureOf(name, c.Inputs, outputShape) is not { } s) continue;
            var bulk = new int[outputShape.Count];
            for (int colour = 0; colour < s.Colours; colour++)
            {
                s.Owners(colour, bulk);
                Assert.That(bulk, Is.EqualTo(Enumerable.Range(0, bulk.Length).Select(j => s.Owner(j, colour))), $"{name}, colour {colour}");
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Colours_of_one_pattern_give_every_output_an_owner_of_the_same_rank_in_its_colour(CheckCase c)
    {
        var outputShape = c.Op.Forward(c.Inputs).Shape;
        foreach (var name in c.Op.DifferentiableInputs)
        {
            if (((IHasJacobianStructure)c.Op).StructureOf(name, c.Inputs, outputShape) is not { } s) continue;
            var members = Enumerable.Range(0, c.Inputs[name].Count).GroupBy(s.ColourOf).ToDictionary(g => g.Key, g => g.Order().ToList());
            var owners = new int[outputShape.Count];
            foreach (var pattern in Enumerable.Range(0, s.Colours).Where(k => s.PatternOf(k) >= 0).GroupBy(s.PatternOf))
            {
                int[]? first = null;
                foreach (int colour in pattern)
                {
                    s.Owners(colour, owners);
                    var ranks = owners.Select(e => e < 0 ? -1 : members[colour].IndexOf(e)).ToArray();
                    Assert.That(ranks.Where(r => r >= 0).Count(), Is.EqualTo(owners.Count(e => e >= 0)), $"{name}, colour {colour}: an owner outside its colour");
                    if (first is null) first = ranks;
                    else Assert.That(ranks, Is.EqualTo(first), $"{name}, colour {colour} against colour {pattern.First()} (pattern {pattern.Key})");
                }
            }
        }
    }

    [TestCase("max_pool")]
    [TestCase("avg_pool")]
    [TestCase("conv")]
    [TestCase("batch_norm")]
    public void The_number_of_forward_passes_does_not_grow_with_the_spatial_size(string layer)
    {
        int Passes(int size)
        {
            IOp op = layer switch
            {
                "max_pool" => MaxPool.Create(2, [3], [2], [1]),
                "avg_pool" => AvgPool.Create(2, [3], [2], [1]),
                "conv" => Convolution.Create(2, padding: ConvPadding.Of(1)),
                _ => new BatchNorm(training: false),
            };
            var x = Samples.Distinct(Shape.Of(1, 2, size, size), 4);
            var inputs = layer switch
            {
                "conv" => new NamedTensors(("input", x), ("weight", Samples.Scaled(Shape.Of(2, 2, 3, 3), 5, 0.5)), ("bias", Samples.Scaled(Shape.Of(2), 6, 0.5))),
                "batch_norm" => new NamedTensors(("input", x), ("weight", Samples.Positive(Shape.Of(2), 5)), ("bias", Samples.Scaled(Shape.Of(2), 6, 0.5)),
                    ("running_mean", Samples.Scaled(Shape.Of(2), 7, 0.5)), ("running_var", Samples.Positive(Shape.Of(2), 8))),
                _ => NamedTensors.Input(x),
            };
            var counting = new Counting(op);
            var r = GradientChecker.Check(counting, inputs);
            Assert.That(r.Passed, Is.True, r.Describe());
            Assert.That(r.Kinks, Is.Zero);
            return counting.Forwards;
        }
        int small = Passes(8), large = Passes(24);
        Assert.That(large, Is.EqualTo(small), "forward passes at 24x24 vs 8x8");
        Assert.That(large, Is.LessThan(4 * 2 * 24 * 24 / 8), "far fewer than 4 per element");
    }

    [Test]
    public void A_kink_found_in_the_compressed_pass_is_refined_element_by_element()
    {
        // Ties: the compressed pass flags them; refinement keeps them as kinks and resolves nothing wrongly.
        var op = MaxPool.Create(2, [2]);
        var x = Samples.Ties(Shape.Of(1, 2, 6, 6), 2);
        var compressed = GradientChecker.Check(op, NamedTensors.Input(x));
        var plain = GradientChecker.Check(op, NamedTensors.Input(x), 1, new GradCheckOptions { Compress = false });
        Assert.That(compressed.Kinks, Is.GreaterThan(0));
        Assert.That(compressed.Elements.Select(e => (e.IsKink, e.Verdict, e.Lower, e.Upper)), Is.EqualTo(plain.Elements.Select(e => (e.IsKink, e.Verdict, e.Lower, e.Upper))));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void An_input_whose_move_overflows_an_output_is_skipped_with_the_reason(bool compress)
    {
        // y = 2x + 0: at x = 8.988e307, y = 1.7976e308 is finite, but x + h (h = 2^1013, about 1e-4 x) overflows it.
        var inputs = new NamedTensors(("input", Tensor.FromArray(Shape.Of(1, 2), [8.988e307, 1.0])),
            ("weight", Tensor.FromArray(Shape.Of(1, 2), [2.0, 3.0])), ("bias", Tensor.FromArray(Shape.Of(1), [0.0])));
        var r = GradientChecker.Check(new Linear(), inputs, 1, new GradCheckOptions { Compress = compress });
        var first = r.Elements.Single(e => e.Tensor == "input" && e.Index == 0);
        Assert.That(first.Verdict, Is.EqualTo(ElementVerdict.Skipped));
        Assert.That(first.Note, Does.Contain("turns non-finite"));
    }

    [Test]
    public void An_output_overflowing_among_many_skips_only_the_elements_that_move_it_with_the_numbers_of_checking_alone()
    {
        // 16 rows, taken 8 outputs at a time by the vector path: row 5's input 8.988e307 doubles to a finite output that
        // overflows when it or the weight multiplying it moves. Those two elements are skipped; every other keeps the
        // numbers it gets moved alone.
        var x = Tensor.Create(Shape.Of(16, 2), i => i == 10 ? 8.988e307 : 1 + 0.25 * i);
        var inputs = new NamedTensors(("input", x), ("weight", Tensor.FromArray(Shape.Of(1, 2), [2.0, 3.0])), ("bias", Tensor.FromArray(Shape.Of(1), [0.5])));
        var compressed = GradientChecker.Check(new Linear(), inputs, 1);
        var alone = GradientChecker.Check(new Linear(), inputs, 1, new GradCheckOptions { Compress = false });
        var skipped = compressed.Elements.Where(e => e.Verdict == ElementVerdict.Skipped).Select(e => (e.Tensor, e.Index));
        Assert.That(skipped, Is.EquivalentTo(new[] { ("input", 10), ("weight", 0) }));
        Assert.That(compressed.Elements.Select(e => (e.Tensor, e.Index, e.Verdict, e.Numeric, e.ErrorEstimate)),
            Is.EqualTo(alone.Elements.Select(e => (e.Tensor, e.Index, e.Verdict, e.Numeric, e.ErrorEstimate))));
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(2)]
    public void The_vector_terms_of_the_plus_minus_h_pair_are_each_outputs_scalar_terms_bit_for_bit_and_flag_a_non_finite_move(int seed)
    {
        // Outputs that are unchanged, non-finite at x, turned non-finite, or ordinary, at random places, in runs of
        // lengths that end inside and outside a vector.
        var rng = new Random(seed);
        double[] specials = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.0, -0.0, double.MaxValue];
        double Value() => rng.Next(6) == 0 ? specials[rng.Next(specials.Length)] : (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-5, 6));
        for (int trial = 0; trial < 200; trial++)
        {
            int n = rng.Next(1, 40);
            var (dy, y0, m1, p1) = (new double[n], new double[n], new double[n], new double[n]);
            for (int j = 0; j < n; j++)
            {
                (dy[j], y0[j]) = ((1 + rng.Next(64)) / 32.0 * (rng.Next(2) == 0 ? -1 : 1), Value());
                (m1[j], p1[j]) = rng.Next(4) switch { 0 => (y0[j], y0[j]), 1 => (Value(), Value()), _ => (y0[j] - 1e-3, y0[j] + 1e-3) };
            }
            var (vb, vc, noise) = (new double[n], new double[n], new double[n]);
            bool clean = GradientChecker.Accumulator.NearTerms(dy, y0, m1, p1, vb, vc, noise);
            bool anyBad = false;
            for (int j = 0; j < n; j++)
            {
                bool adds = GradientChecker.Accumulator.NearSums(dy[j], y0[j], m1[j], p1[j], out double b, out double c, out double z, out bool bad);
                anyBad |= bad;
                if (!clean) continue;
                Assert.That((vb[j], vc[j], noise[j]), Is.EqualTo(adds ? (b, c, z) : (0.0, 0.0, 0.0)), $"trial {trial} output {j}");
                Assert.That(double.IsNegative(vb[j]), Is.EqualTo(adds && double.IsNegative(b)), $"trial {trial} output {j}: sign of a zero");
            }
            Assert.That(clean, Is.EqualTo(!anyBad), $"trial {trial}");
        }
    }

    [TestCase(true)]
    [TestCase(false)]
    public void A_subset_of_elements_is_checked_alone_with_the_same_numbers(bool compress)
    {
        var c = CheckSuite.All().First(k => k.Op.Name == "conv2d");
        var dy = GradientChecker.RandomGradOutput(c.Op.Forward(c.Inputs).Shape, 1);
        var all = GradientChecker.Check(c.Op, c.Inputs, dy);
        var counting = new Counting(c.Op);
        bool Chosen(string name, int i) => name == "weight" && i % 5 == 2;
        var some = GradientChecker.Check(counting, c.Inputs, dy, new GradCheckOptions { Elements = Chosen, Compress = compress });
        Assert.That(some.Elements.Select(e => (e.Tensor, e.Index)), Is.EqualTo(all.Elements.Where(e => Chosen(e.Tensor, e.Index)).Select(e => (e.Tensor, e.Index))));
        Assert.That(some.Elements.Select(e => (e.Numeric, e.Verdict)), Is.EqualTo(all.Elements.Where(e => Chosen(e.Tensor, e.Index)).Select(e => (e.Numeric, e.Verdict))));
        Assert.That(counting.Forwards, Is.LessThanOrEqualTo(1 + 4 * some.Elements.Length), "no passes for unselected elements");
    }

    /// <summary>The op with its structure but not its smoothness: the checker runs its per-output kink tests.</summary>
    private sealed class NotDeclaredSmooth(IOp op) : IOp, IHasJacobianStructure
    {
        public string Name => op.Name;
        public OpAttributes Attributes => op.Attributes;
        public IReadOnlyList<string> DifferentiableInputs => op.DifferentiableInputs;
        public Tensor Forward(NamedTensors inputs) => op.Forward(inputs);
        public NamedTensors Backward(NamedTensors inputs, Tensor gradOutput) => op.Backward(inputs, gradOutput);
        public JacobianStructure? StructureOf(string input, NamedTensors inputs, Shape outputShape) =>
            ((IHasJacobianStructure)op).StructureOf(input, inputs, outputShape);
        public IReadOnlySet<int>? ConstantElements(string input, NamedTensors inputs) => ((IHasJacobianStructure)op).ConstantElements(input, inputs);
    }

    private static IEnumerable<TestCaseData> SmoothCases() =>
        CheckSuite.All().Where(c => c.Op is IHasJacobianStructure { IsSmooth: true }).Select(c => new TestCaseData(c).SetArgDisplayNames($"{c.Op.Name} {c.Configuration}"));

    [TestCaseSource(nameof(SmoothCases))]
    public void Skipping_the_kink_tests_of_a_smooth_op_changes_no_estimate_and_no_verdict(CheckCase c)
    {
        var dy = GradientChecker.RandomGradOutput(c.Op.Forward(c.Inputs).Shape, 1);
        var fiveEverywhere = new GradCheckOptions { ThreePointFirst = false }; // what changes with it: ThreePointFirstTests
        var fast = GradientChecker.Check(c.Op, c.Inputs, dy, fiveEverywhere);
        var full = GradientChecker.Check(new NotDeclaredSmooth(c.Op), c.Inputs, dy, fiveEverywhere);
        Assert.That(full.Kinks, Is.Zero, "an op declared smooth shows a kink");
        Assert.That(fast.Elements.Select(e => (e.Numeric, e.ErrorEstimate, e.Allowed, e.Verdict)),
            Is.EqualTo(full.Elements.Select(e => (e.Numeric, e.ErrorEstimate, e.Allowed, e.Verdict))));
    }
}
