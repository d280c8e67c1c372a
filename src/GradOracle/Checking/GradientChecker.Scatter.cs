namespace GradOracle.Checking;

// The checker's scatter of a chunk's stencil terms into their owners' sums.
public static partial class GradientChecker
{
    /// <summary>A run of outputs with one owner, adding in registers (<see cref="Scatter"/>).</summary>
    private struct Run
    {
        public int Current;
        public double S1, S3, Sn;

        public readonly void Flush(Span<double> d1, Span<double> d3, Span<double> noise)
        {
            if (Current >= 0) (d1[Current], d3[Current], noise[Current]) = (S1, S3, Sn);
        }
    }

    /// <summary>
    /// A chunk's ±h terms into the sums of their owners' places (<paramref name="slots"/>, -1: none), in output order; an
    /// output marked in <paramref name="bad"/> (empty: none) flags its owner instead. A run of outputs with one owner (a
    /// weight's channel plane) adds in registers; no call in the loop, so that they stay there.
    /// </summary>
    private static void Scatter(ReadOnlySpan<int> slots, ReadOnlySpan<double> vb, ReadOnlySpan<double> vc, ReadOnlySpan<double> nz, ReadOnlySpan<bool> bad,
        Span<double> d1, Span<double> d3, Span<double> noise, Span<bool> nonFinite, ref Run run)
    {
        var (current, s1, s3, sn) = (run.Current, run.S1, run.S3, run.Sn);
        vb = vb[..slots.Length];
        vc = vc[..slots.Length];
        nz = nz[..slots.Length];
        for (int i = 0; i < slots.Length; i++)
        {
            int k = slots[i];
            if (k < 0) continue; // no owner, or one not moved (unselected or non-finite)
            if (!bad.IsEmpty && bad[i])
            {
                nonFinite[k] = true;
                continue;
            }
            if (k != current)
            {
                if (current >= 0)
                {
                    (d1[current], d3[current], noise[current]) = (s1, s3, sn);
                }
                (current, s1, s3, sn) = (k, d1[k], d3[k], noise[k]);
            }
            s1 += vb[i];
            s3 += vc[i];
            sn += nz[i];
        }
        (run.Current, run.S1, run.S3, run.Sn) = (current, s1, s3, sn);
    }
}
