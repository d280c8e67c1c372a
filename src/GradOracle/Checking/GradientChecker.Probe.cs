using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Checking;

// The checker's coloured passes: an input's elements moved, a colour at a time, against the unmoved output.
public static partial class GradientChecker
{
    /// <summary>Evaluates the op with elements of one input moved, against the unmoved output.</summary>
    private sealed class Probe(IOp op, NamedTensors inputs, string name, Tensor gradOutput, Tensor baseOutput)
    {
        // Colours per call of a batched op in the compressed pass: up to 64 forwards per round trip, and at most
        // BatchBytes of moved inputs and outputs held at once (one colour per call at size: four copies of each).
        private const int MaxColoursPerBatch = 16;
        private const long BatchBytes = 512L << 20;

        private int ColoursPerBatch => (int)Math.Clamp(BatchBytes / (4L * sizeof(double) * (Input.Count + (long)baseOutput.Count)), 1, MaxColoursPerBatch);

        private static readonly int[] Offsets = [-2, -1, 1, 2], Far = [-2, 2], MinusOne = [-1], PlusOne = [1];

        public string Name { get; } = name;

        public Tensor Input { get; } = inputs[name];

        /// <summary>
        /// Whether the op is differentiable everywhere: no kink test per output, and an element's slope interval is its
        /// numeric value (ours only: an implementation under test is never trusted to be smooth).
        /// </summary>
        public bool Smooth { get; } = op is IHasJacobianStructure { IsSmooth: true };

        /// <summary>
        /// The outputs with the input's elements in <paramref name="moved"/> moved by t·step[e], for each t of
        /// <paramref name="offsets"/>; written into <c>lent[firstLent ..]</c> when given (an <see cref="IForwardInto"/> op).
        /// </summary>
        private Tensor[] Outputs(double[] work, IReadOnlyList<int> moved, Func<int, double> step, int[] offsets, double[]?[]? lent = null, int firstLent = 0)
        {
            var result = new Tensor[offsets.Length];
            int slot = 0;
            foreach (int t in offsets)
            {
                foreach (int e in moved) work[e] = Input.At(e) + t * step(e);
                try
                {
                    var movedInputs = inputs.With(Name, Tensor.Wrap(Input.Shape, work));
                    var y = lent is not null && op is IForwardInto into ? into.Forward(movedInputs, lent[firstLent + slot] ??= new double[baseOutput.Count]) : op.Forward(movedInputs);
                    // An output that is a view of the moved input (flatten) would change back with it.
                    result[slot++] = y.Shares(work) ? Tensor.Wrap(y.Shape, y.ToArray()) : y;
                }
                finally { foreach (int e in moved) work[e] = Input.At(e); }
            }
            return result;
        }

        /// <summary>
        /// The inputs of <see cref="Outputs"/>'s four passes, each on its own copy: a batch holds them all at once.
        /// The moved values are computed as there, so a batched op sees bit for bit the same inputs.
        /// </summary>
        private IEnumerable<NamedTensors> MovedInputs(IReadOnlyList<int> moved, Func<int, double> step)
        {
            foreach (int t in Offsets)
            {
                var x = Input.ToArray();
                foreach (int e in moved) x[e] = Input.At(e) + t * step(e);
                yield return inputs.With(Name, Tensor.Wrap(Input.Shape, x));
            }
        }

        private static IReadOnlyList<Tensor> ForwardAll(IBatchedForward batched, List<NamedTensors> passes)
        {
            var y = batched.ForwardAll(passes);
            return y.Count == passes.Count ? y
                : throw new InvalidOperationException($"a batched forward returned {y.Count} outputs for {passes.Count} inputs");
        }

        /// <summary>
        /// One element moved alone: every output is attributed to it. Null when an output turns non-finite. For a
        /// smooth op with <paramref name="accept"/>: the 3-point value when it accepts that, else the 5-point one.
        /// </summary>
        public Stencil5? Evaluate(int i, double h, Func<Stencil5, bool>? accept = null)
        {
            if (Smooth && accept is not null && op is not IBatchedForward)
            {
                var minus = Outputs(Input.ToArray(), [i], _ => h, MinusOne)[0];
                var plus = Outputs(Input.ToArray(), [i], _ => h, PlusOne)[0];
                if (Sum(minus, minus, plus, plus, h).FinishNear(h) is { } st && accept(st)) return st;
                var far = Outputs(Input.ToArray(), [i], _ => h, Far);
                return Sum(far[0], minus, plus, far[1], h).Finish(h, Smooth);
            }
            var y = op is IBatchedForward batched
                ? ForwardAll(batched, [.. MovedInputs([i], _ => h)])
                : Outputs(Input.ToArray(), [i], _ => h, Offsets);
            return Sum(y[0], y[1], y[2], y[3], h).Finish(h, Smooth);
        }

        /// <summary>Every output attributed to the one element moved (for <see cref="Evaluate"/>).</summary>
        private Accumulator Sum(Tensor m2t, Tensor m1t, Tensor p1t, Tensor p2t, double h)
        {
            ReadOnlySpan<double> y0 = baseOutput.Span, dy = gradOutput.Span, m2 = m2t.Span, m1 = m1t.Span, p1 = p1t.Span, p2 = p2t.Span;
            var acc = new Accumulator();
            for (int j = 0; j < y0.Length; j++)
                if (Smooth) acc.AddSmooth(dy[j], y0[j], m2[j], m1[j], p1[j], p2[j]);
                else acc.Add(dy[j], y0[j], m2[j], m1[j], p1[j], p2[j], h);
            return acc;
        }

        /// <summary>The elements a check can move: the selected ones (all when null) that are finite.</summary>
        private IEnumerable<int> Movable(int[]? selected)
        {
            foreach (int e in selected ?? Enumerable.Range(0, Input.Count))
                if (double.IsFinite(Input.At(e))) yield return e;
        }

        /// <summary>
        /// Compressed: the elements of each colour move together, each by its own step, and each output's change is
        /// attributed to the one element of that colour the structure says it depends on. A batched op gets
        /// <see cref="ColoursPerBatch"/> colours per call (in order, one thread); the others one colour per pass loop.
        /// A smooth op with <paramref name="accept"/> gets the ±h pair first, and the ±2h passes only for a colour with
        /// an element it refuses on 3 points; each element's result is then the one <see cref="Evaluate"/> gives it alone.
        /// </summary>
        public void EvaluateColoured(JacobianStructure structure, Func<int, double> step, bool parallel, int[]? selected,
            Func<int, Stencil5, bool>? accept, Action<int, Stencil5?> finished)
        {
            // The moved elements by colour, counted first: a colour can hold a large share of the input, and lists
            // grown by doubling would hold up to twice that.
            var sizes = new int[structure.Colours];
            var slot = new int[Input.Count]; // an element's place in its colour, -1 for elements no colour moves; first its colour
            Array.Fill(slot, -1);
            foreach (int e in Movable(selected)) sizes[slot[e] = structure.ColourOf(e)]++;
            var byColour = sizes.Select(n => new int[n]).ToArray();
            Array.Clear(sizes);
            var steps = new double[Input.Count];
            foreach (int e in Movable(selected))
            {
                int c = slot[e];
                slot[e] = sizes[c]++;
                byColour[c][slot[e]] = e;
                steps[e] = step(e);
            }
            int largest = byColour.Max(l => l.Length);
            bool whole = byColour.Sum(l => l.Length) == Input.Count; // every element moves: ranks are the same in colours of one pattern
            if (op is IBatchedForward batched)
            {
                var slots = new int[baseOutput.Count];
                int pattern = -1;
                var acc = new Accumulator[largest];
                var moving = Enumerable.Range(0, byColour.Length).Where(c => byColour[c].Length > 0);
                foreach (var group in moving.Chunk(ColoursPerBatch))
                {
                    var y = ForwardAll(batched, group.SelectMany(c => MovedInputs(byColour[c], e => steps[e])).ToList());
                    for (int k = 0; k < group.Length; k++) Accumulate(group[k], y, 4 * k, SlotsOf(group[k], slots, ref pattern), acc);
                }
            }
            else
            {
                using var scratch = new ThreadLocal<Scratch>(() => new Scratch(Input, baseOutput.Count, largest, lend: op is IForwardInto));
                bool nearFirst = Smooth && accept is not null;
                // Colours of one pattern one after the other, so that a worker mostly reuses its owners by rank.
                var order = Enumerable.Range(0, byColour.Length).OrderBy(structure.PatternOf).ToArray();
                Loop(byColour.Length, parallel, i =>
                {
                    int c = order[i];
                    if (byColour[c].Length == 0) return;
                    var s = scratch.Value!;
                    if (nearFirst) AccumulateNearFirst(c, s, byColour[c]);
                    else Accumulate(c, Outputs(s.Work, byColour[c], e => steps[e], Offsets, s.Lent), 0, SlotsOf(c, s.Slots, ref s.SlotsPattern), s.Acc);
                });
            }

            // Colour c's outputs at y[at..at+3] into its elements' accumulators, then its elements are finished; no
            // two colours share an element, so neither the order of colours nor batching changes any element's sums.
            void Accumulate(int c, IReadOnlyList<Tensor> y, int at, int[] slots, Accumulator[] acc)
            {
                SumColour(c, y[at].Span, y[at + 1].Span, y[at + 2].Span, y[at + 3].Span, slots, acc);
                foreach (int e in byColour[c]) finished(e, acc[slot[e]].Finish(steps[e], Smooth));
            }

            // ThreePointFirst: the ±h passes; their 3-point value for each of the candidates
            // accept takes, the ±2h passes and the 5-point value for the others (the sums are per element, so which
            // others does not change them).
            void AccumulateNearFirst(int c, Scratch s, IReadOnlyList<int> candidates)
            {
                var (members, acc) = (byColour[c], s.Acc);
                var minus = Outputs(s.Work, members, e => steps[e], MinusOne, s.Lent)[0];
                var plus = Outputs(s.Work, members, e => steps[e], PlusOne, s.Lent, firstLent: 1)[0];
                SumNear(c, minus.Span, plus.Span, s);
                List<int>? rest = null;
                foreach (int e in candidates)
                {
                    int k = slot[e];
                    if (Accumulator.FinishNear(s.AtMinus1[k], s.AtPlus1[k], s.Noise[k], s.NonFinite[k], steps[e]) is { } st && accept!(e, st)) finished(e, st);
                    else (rest ??= []).Add(e);
                }
                if (rest is null) return;
                var far = Outputs(s.Work, members, e => steps[e], Far, s.Lent, firstLent: 2);
                SumColour(c, far[0].Span, minus.Span, plus.Span, far[1].Span, SlotsOf(c, s.Slots, ref s.SlotsPattern), acc);
                foreach (int e in rest) finished(e, acc[slot[e]].Finish(steps[e], Smooth));
            }

            // The ±h pair's sums of colour c's elements (cleared first), as SumColour would add them with that pair for both.
            void SumNear(int c, ReadOnlySpan<double> m1, ReadOnlySpan<double> p1, Scratch s)
            {
                var slots = SlotsOf(c, s.Slots, ref s.SlotsPattern);
                int n = byColour[c].Length;
                var (atMinus1, atPlus1, noise, nonFinite) = (s.AtMinus1, s.AtPlus1, s.Noise, s.NonFinite);
                Array.Clear(atMinus1, 0, n);
                Array.Clear(atPlus1, 0, n);
                Array.Clear(noise, 0, n);
                Array.Clear(nonFinite, 0, n);
                ReadOnlySpan<double> y0 = baseOutput.Span, dy = gradOutput.Span;
                var (minusTerms, plusTerms, noiseTerms, nonFiniteTerms) = (s.MinusTerms, s.PlusTerms, s.NoiseTerms, s.NonFiniteTerms);
                var run = new Run { Current = -1 };
                for (int from = 0; from < y0.Length; from += Scratch.Chunk)
                {
                    int count = Math.Min(Scratch.Chunk, y0.Length - from);
                    // Each output's terms in vectors first; a chunk where an output turned non-finite one by one instead.
                    ReadOnlySpan<double> dyc = dy.Slice(from, count), y0c = y0.Slice(from, count), m1c = m1.Slice(from, count), p1c = p1.Slice(from, count);
                    bool clean = Accumulator.NearTerms(dyc, y0c, m1c, p1c, minusTerms, plusTerms, noiseTerms);
                    if (!clean) Accumulator.NearTermsOneByOne(dyc, y0c, m1c, p1c, minusTerms, plusTerms, noiseTerms, nonFiniteTerms);
                    Scatter(slots.AsSpan(from, count), minusTerms, plusTerms, noiseTerms, clean ? default : nonFiniteTerms, atMinus1, atPlus1, noise, nonFinite, ref run);
                }
                run.Flush(atMinus1, atPlus1, noise);
            }

            // Each output's owner in colour c as its place in the colour (-1: none or not moved), into slots, unless slots
            // already hold them (laidOut: what they were laid out for). When every element moves, colours of one pattern
            // share them; otherwise they are the colour's own (-2 - c).
            int[] SlotsOf(int c, int[] slots, ref int laidOut)
            {
                int key = whole && structure.PatternOf(c) is >= 0 and var pattern ? pattern : -2 - c;
                if (key == laidOut) return slots;
                structure.Owners(c, slots);
                for (int j = 0; j < slots.Length; j++)
                    if (slots[j] >= 0) slots[j] = slot[slots[j]];
                laidOut = key;
                return slots;
            }

            // Colour c's outputs into its elements' accumulators (cleared first), each by its owner's place (SlotsOf).
            void SumColour(int c, ReadOnlySpan<double> m2, ReadOnlySpan<double> m1, ReadOnlySpan<double> p1, ReadOnlySpan<double> p2, int[] slots, Accumulator[] acc)
            {
                var members = byColour[c];
                Array.Clear(acc, 0, members.Length);
                ReadOnlySpan<double> y0 = baseOutput.Span, dy = gradOutput.Span;
                // Runs of outputs with one owner (a batch-norm channel) accumulate in a local copy: no round trip
                // through memory per output.
                int current = -1;
                var local = new Accumulator();
                for (int j = 0; j < y0.Length; j++)
                {
                    int k = slots[j];
                    if (k < 0) continue; // no owner, or one not moved (unselected or non-finite)
                    if (k != current)
                    {
                        if (current >= 0) acc[current] = local;
                        current = k;
                        local = acc[k];
                    }
                    if (Smooth) local.AddSmooth(dy[j], y0[j], m2[j], m1[j], p1[j], p2[j]);
                    else local.Add(dy[j], y0[j], m2[j], m1[j], p1[j], p2[j], steps[members[k]]);
                }
                if (current >= 0) acc[current] = local;
            }
        }
    }
}
