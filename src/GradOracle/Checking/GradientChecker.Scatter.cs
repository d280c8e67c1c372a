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

    /// <summary>Whether <see cref="Scatter"/> adds the -h terms too (a compile-time choice: the JIT drops the other branch).</summary>
    private interface ISides { static abstract bool Both { get; } }

    private struct BothSides : ISides { public static bool Both => true; }

    private struct OneSide : ISides { public static bool Both => false; } // the -h sums are left at 0

    /// <summary>
    /// A chunk's ±h terms into the sums of their owners' places (<paramref name="slots"/>, -1: none), in output order; an
    /// output marked in <paramref name="bad"/> (empty: none) flags its owner instead. A run of outputs with one owner (a
    /// weight's channel plane) adds in registers; no call in the loop, so that they stay there.
    /// </summary>
    private static void Scatter<TSides>(ReadOnlySpan<int> slots, ReadOnlySpan<double> vb, ReadOnlySpan<double> vc, ReadOnlySpan<double> nz, ReadOnlySpan<bool> bad,
        Span<double> d1, Span<double> d3, Span<double> noise, Span<bool> nonFinite, ref Run run) where TSides : struct, ISides
    {
        var (current, s1, s3, sn) = (run.Current, run.S1, run.S3, run.Sn);
        if (TSides.Both) vb = vb[..slots.Length];
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
                    if (TSides.Both) d1[current] = s1;
                    (d3[current], noise[current]) = (s3, sn);
                }
                (current, s1, s3, sn) = (k, TSides.Both ? d1[k] : 0, d3[k], noise[k]);
            }
            if (TSides.Both) s1 += vb[i];
            s3 += vc[i];
            sn += nz[i];
        }
        (run.Current, run.S1, run.S3, run.Sn) = (current, s1, s3, sn);
    }
}
