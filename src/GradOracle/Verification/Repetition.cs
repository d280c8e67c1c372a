using GradOracle.Layers;
using GradOracle.Protocol;
using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>
/// --repeat K: the same request sent K - 1 more times, every answer compared with the first, element by element,
/// bit for bit or within nondet_tol (gradcheck's name), as GPU kernels with atomics or threads that sum in
/// arrival order differ from one run to the next.
/// </summary>
internal static class Repetition
{
    /// <summary>Null when every repeated answer agrees with <paramref name="first"/>, else where the first disagreement is.</summary>
    public static string? Difference(ImplementationClient client, RunRequest request, OpResult first, int repeat, double tolerance)
    {
        if (repeat <= 1) return null;
        var outcomes = client.RunAll([.. Enumerable.Repeat(request, repeat - 1)], stopAtFirstFailure: true);
        for (int k = 0; k < outcomes.Length; k++)
        {
            int answer = k + 2;
            if (outcomes[k] is not Outcome.Answered { Response: RunResponse r })
                return $"answer {answer} of {repeat} to the same request is no result: {Describe(outcomes[k])}";
            var tensors = new List<(string Key, Tensor? Was, Tensor? Now)> { ("output", first.Output, r.Output) };
            foreach (var (name, g) in first.Grads.Items) tensors.Add(($"grads.{name}", g, r.Grads is { } gr && gr.Contains(name) ? gr[name] : null));
            foreach (var (key, was, now) in tensors)
            {
                if (now is null) return $"answer {answer} of {repeat} lacks {key}";
                if (now.Shape != was!.Shape) return $"answer {answer} of {repeat} gives {key} the shape {now.Shape}, the first {was.Shape}";
                for (int i = 0; i < was.Count; i++)
                {
                    double a = was.At(i), b = now.At(i);
                    bool same = BitConverter.DoubleToInt64Bits(a) == BitConverter.DoubleToInt64Bits(b) || double.IsNaN(a) && double.IsNaN(b)
                        || Math.Abs(a - b) <= tolerance;
                    if (!same)
                        return $"nondeterministic: answer {answer} of {repeat} to the same request differs from the first at {key}[{string.Join(", ", was.Shape.Coordinates(i))}]: " +
                               $"{Tensor.FormatNumber(a)} then {Tensor.FormatNumber(b)} (difference {Tensor.FormatNumber(Math.Abs(a - b))}, nondet_tol {Tensor.FormatNumber(tolerance)})";
                }
            }
        }
        return null;
    }

    private static string Describe(Outcome o) => o switch
    {
        Outcome.Failed f => $"{f.Kind}: {f.Reason}",
        Outcome.Answered { Response: ErrorResponse e } => $"an error ({e.Message})",
        Outcome.Answered { Response: UnsupportedResponse } => "unsupported",
        _ => "an unexpected reply",
    };
}
