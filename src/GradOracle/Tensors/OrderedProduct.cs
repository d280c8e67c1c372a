using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace GradOracle.Tensors;

/// <summary>
/// A matrix product <c>C[m, n] += Σ_k A[m, k]·B[k, n]</c> whose every element adds its products in k order, each rounded
/// and then added (not fused), onto C's value: the bits of the plain triple loop, at the speed of a register-blocked one.
/// Blocking runs independent sums side by side (six rows of C by eight columns in twelve vector registers) and splits k
/// into chunks taken in order (a sum is stored and loaded again between chunks: the same bits), so it never reorders a sum.
/// </summary>
internal static class OrderedProduct
{
    private const int Columns = 8, RowPanel = 48, ColumnPanel = 256, Depth = 128;

    /// <summary>Products below which one thread does it all: the checker's small layers would only pay for the split.</summary>
    private const long SerialWork = 1 << 18;

    /// <summary>
    /// C (rows m·<paramref name="cRow"/>, contiguous in n) += A·B, with A[m, k] at <c>m·aRow + k·aCol</c> and B[k, n] at
    /// <c>k·bRow + n</c>; in parallel over panels of C, which no two items share.
    /// </summary>
    public static void Add(int m, int n, int k, ReadOnlyMemory<double> a, int aRow, int aCol, ReadOnlyMemory<double> b, int bRow, double[] c, int cRow)
    {
        if (m == 0 || n == 0 || k == 0) return;
        int rowPanels = (m + RowPanel - 1) / RowPanel, columnPanels = (n + ColumnPanel - 1) / ColumnPanel;
        var options = new ParallelOptions { MaxDegreeOfParallelism = (long)m * n * k < SerialWork ? 1 : -1 };
        Parallel.For(0, rowPanels * columnPanels, options, item =>
        {
            int m0 = item / columnPanels * RowPanel, m1 = Math.Min(m, m0 + RowPanel);
            int n0 = item % columnPanels * ColumnPanel, n1 = Math.Min(n, n0 + ColumnPanel), vectorEnd = n0 + (n1 - n0) / Columns * Columns;
            ReadOnlySpan<double> aSpan = a.Span, bSpan = b.Span;
            ref double a0 = ref MemoryMarshal.GetReference(aSpan);
            ref double b0 = ref MemoryMarshal.GetReference(bSpan);
            ref double c0 = ref MemoryMarshal.GetArrayDataReference(c);
            for (int k0 = 0; k0 < k; k0 += Depth)
            {
                int depth = Math.Min(Depth, k - k0);
                for (int i = m0; i < m1;)
                {
                    int left = m1 - i, count = left >= 6 ? 6 : left >= 3 ? 3 : 1;
                    ref double ai = ref Unsafe.Add(ref a0, (nint)i * aRow + (nint)k0 * aCol);
                    for (int j = n0; j < vectorEnd; j += Columns)
                    {
                        ref double bj = ref Unsafe.Add(ref b0, (nint)k0 * bRow + j);
                        ref double cij = ref Unsafe.Add(ref c0, (nint)i * cRow + j);
                        if (count == 6) Block<Six>(ref ai, aRow, aCol, ref bj, bRow, ref cij, cRow, depth);
                        else if (count == 3) Block<Three>(ref ai, aRow, aCol, ref bj, bRow, ref cij, cRow, depth);
                        else Block<One>(ref ai, aRow, aCol, ref bj, bRow, ref cij, cRow, depth);
                    }
                    i += count;
                }
                // Columns past the last full vector: the same sums, one at a time.
                for (int i = m0; i < m1; i++)
                    for (int j = vectorEnd; j < n1; j++)
                    {
                        double s = c[i * cRow + j];
                        for (int q = k0; q < k0 + depth; q++) s += aSpan[i * aRow + q * aCol] * bSpan[q * bRow + j];
                        c[i * cRow + j] = s;
                    }
            }
        });
    }

    /// <summary>How many rows of C one <see cref="Block{TCount}"/> call carries; the JIT specialises per struct.</summary>
    private interface ICount { static abstract int Value { get; } }

    private readonly struct Six : ICount { public static int Value => 6; }

    private readonly struct Three : ICount { public static int Value => 3; }

    private readonly struct One : ICount { public static int Value => 1; }

    /// <summary>TCount rows by eight columns of C, over <paramref name="depth"/> values of k in order.</summary>
    // Fully optimised from the first call: a pass makes few calls, each a long loop, that tiering would run unoptimised.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block<TCount>(ref double a, int aRow, int aCol, ref double b, int bRow, ref double c, int cRow, int depth)
        where TCount : struct, ICount
    {
        int count = TCount.Value;
        // Callers pass places inside their arrays: rows of C below m, columns below the last full vector, k below its end.
        var s00 = Vector256.LoadUnsafe(ref c); var s01 = Vector256.LoadUnsafe(ref c, 4);
        Vector256<double> s10 = default, s11 = default, s20 = default, s21 = default, s30 = default, s31 = default,
            s40 = default, s41 = default, s50 = default, s51 = default;
        if (count > 1)
        {
            s10 = Vector256.LoadUnsafe(ref c, (nuint)cRow); s11 = Vector256.LoadUnsafe(ref c, (nuint)cRow + 4);
            s20 = Vector256.LoadUnsafe(ref c, (nuint)(2 * cRow)); s21 = Vector256.LoadUnsafe(ref c, (nuint)(2 * cRow) + 4);
        }
        if (count > 3)
        {
            s30 = Vector256.LoadUnsafe(ref c, (nuint)(3 * cRow)); s31 = Vector256.LoadUnsafe(ref c, (nuint)(3 * cRow) + 4);
            s40 = Vector256.LoadUnsafe(ref c, (nuint)(4 * cRow)); s41 = Vector256.LoadUnsafe(ref c, (nuint)(4 * cRow) + 4);
            s50 = Vector256.LoadUnsafe(ref c, (nuint)(5 * cRow)); s51 = Vector256.LoadUnsafe(ref c, (nuint)(5 * cRow) + 4);
        }
        for (int q = 0; q < depth; q++)
        {
            ref double bq = ref Unsafe.Add(ref b, (nint)q * bRow);
            var g0 = Vector256.LoadUnsafe(ref bq);
            var g1 = Vector256.LoadUnsafe(ref bq, 4);
            ref double aq = ref Unsafe.Add(ref a, (nint)q * aCol);
            // A's value first, as the triple loop multiplies (a product's bits do not depend on the order anyway).
            var v = Vector256.Create(aq); s00 += v * g0; s01 += v * g1;
            if (count > 1)
            {
                v = Vector256.Create(Unsafe.Add(ref aq, aRow)); s10 += v * g0; s11 += v * g1;
                v = Vector256.Create(Unsafe.Add(ref aq, 2 * aRow)); s20 += v * g0; s21 += v * g1;
            }
            if (count > 3)
            {
                v = Vector256.Create(Unsafe.Add(ref aq, 3 * aRow)); s30 += v * g0; s31 += v * g1;
                v = Vector256.Create(Unsafe.Add(ref aq, 4 * aRow)); s40 += v * g0; s41 += v * g1;
                v = Vector256.Create(Unsafe.Add(ref aq, 5 * aRow)); s50 += v * g0; s51 += v * g1;
            }
        }
        s00.StoreUnsafe(ref c); s01.StoreUnsafe(ref c, 4);
        if (count > 1)
        {
            s10.StoreUnsafe(ref c, (nuint)cRow); s11.StoreUnsafe(ref c, (nuint)cRow + 4);
            s20.StoreUnsafe(ref c, (nuint)(2 * cRow)); s21.StoreUnsafe(ref c, (nuint)(2 * cRow) + 4);
        }
        if (count > 3)
        {
            s30.StoreUnsafe(ref c, (nuint)(3 * cRow)); s31.StoreUnsafe(ref c, (nuint)(3 * cRow) + 4);
            s40.StoreUnsafe(ref c, (nuint)(4 * cRow)); s41.StoreUnsafe(ref c, (nuint)(4 * cRow) + 4);
            s50.StoreUnsafe(ref c, (nuint)(5 * cRow)); s51.StoreUnsafe(ref c, (nuint)(5 * cRow) + 4);
        }
    }
}
