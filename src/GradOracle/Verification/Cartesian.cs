namespace GradOracle.Verification;

/// <summary>The cartesian product of lists: a sweep's grid, a sample's corner blocks.</summary>
internal static class Cartesian
{
    /// <summary>Every combination, one item from each list, the last list varying fastest; one empty combination for no lists, none when a list is empty.</summary>
    public static IEnumerable<T[]> Product<T>(IReadOnlyList<T[]> lists)
    {
        if (lists.Any(l => l.Length == 0)) yield break;
        var index = new int[lists.Count];
        while (true)
        {
            yield return [.. lists.Select((l, i) => l[index[i]])];
            int k = lists.Count - 1;
            while (k >= 0 && ++index[k] == lists[k].Length) index[k--] = 0;
            if (k < 0) yield break;
        }
    }
}
