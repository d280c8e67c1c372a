using GradOracle.Tensors;

namespace GradOracle.Checking;

// The checker's per-worker buffers for the compressed passes.
public static partial class GradientChecker
{
    /// <summary>
    /// One worker's buffers for the compressed passes: the input it moves, a colour's owners' places and accumulators, and,
    /// for an op that writes into lent arrays, the four outputs of a colour's stencil.
    /// </summary>
    private sealed class Scratch(Tensor input, int outputs, int largest, bool lend)
    {
        public double[] Work { get; } = input.ToArray();
        public Accumulator[] Acc { get; } = new Accumulator[largest];

        // A colour's ±h sums by element (its place in the colour), for the 3-point value: three numbers and a flag each
        // instead of a whole accumulator read and written per output.
        public double[] AtMinus1 { get; } = new double[largest];
        public double[] AtPlus1 { get; } = new double[largest];
        public double[] Noise { get; } = new double[largest];
        public bool[] NonFinite { get; } = new bool[largest];

        /// <summary>Outputs whose ±h terms are computed at once (in vectors) before they are added by owner.</summary>
        public const int Chunk = 512;

        public double[] MinusTerms { get; } = new double[Chunk];
        public double[] PlusTerms { get; } = new double[Chunk];
        public double[] NoiseTerms { get; } = new double[Chunk];
        public bool[] NonFiniteTerms { get; } = new bool[Chunk];

        /// <summary>Each output's owner as its place in the colour (-1: none), and the pattern they are for (-1: one colour's).</summary>
        public int[] Slots { get; } = new int[outputs];
        public int SlotsPattern = -1;

        public double[]?[]? Lent { get; } = lend ? new double[]?[4] : null; // allocated when first lent: the ±2h pair may never be
    }
}
