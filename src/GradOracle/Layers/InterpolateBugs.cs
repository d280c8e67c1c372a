using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>interpolate's known bugs, each as the answer its coordinate rule gives, and the cases where nearest's index is rounding.</summary>
internal static class InterpolateBugs
{
    /// <summary>The hypotheses that apply to this op.</summary>
    public static IEnumerable<BugHypothesis> Of(Interpolate op, NamedTensors inputs, Tensor dy)
    {
        var rule = op.Rule;
        OpResult? With(InterpolationRule r) => op.Result(inputs, dy, r, absolute: false);
        if (rule.Mode is "nearest" or "nearest-exact")
        {
            string other = rule.Mode == "nearest" ? "nearest-exact" : "nearest";
            yield return BugHypothesis.InWholeAnswer($"output: mode '{other}' computed where '{rule.Mode}' was asked" +
                (rule.Mode == "nearest" ? " (floor((o + 0.5)·scale), not PyTorch's legacy floor(o·scale))" : " (floor(o·scale), without the half-pixel centre)"),
                () => With(rule with { Mode = other }));
            yield return BugHypothesis.InWholeAnswer("output: nearest's index floor(o·scale) in exact arithmetic, where libtorch rounds o·scale to float32",
                () => With(rule with { ExactIndex = true }));
        }
        else
        {
            yield return BugHypothesis.InWholeAnswer($"output: align_corners={(!rule.AlignCorners ? "True" : "False")} semantics where {(rule.AlignCorners ? "True" : "False")} was asked",
                () => With(rule with { AlignCorners = !rule.AlignCorners }));
            if (!rule.AlignCorners)
                yield return BugHypothesis.InWholeAnswer("output: coordinates without the half-pixel offset, source = o·scale (ONNX's 'asymmetric', TensorFlow 1's resize) " +
                    "instead of (o + 0.5)·scale - 0.5", () => With(rule with { HalfPixel = false }));
        }
        if (rule.Mode == "bicubic")
            yield return BugHypothesis.InWholeAnswer("output: bicubic with Keys' a = -0.5 (TensorFlow's and PIL's) where PyTorch takes a = -0.75",
                () => With(rule with { CubicA = -0.5 }));
        if (op.ScaleFactor is not null)
        {
            bool recompute = op.RecomputeScaleFactor == true;
            yield return BugHypothesis.InWholeAnswer(recompute
                    ? "output: coordinates from 1/scale_factor where recompute_scale_factor=True asks for in/out"
                    : "output: coordinates from in/out (recompute_scale_factor=True) where PyTorch uses 1/scale_factor",
                () => OpFactory.TryWith(op, inputs.Names, ("recompute_scale_factor", !recompute)) is { } v ? OpResult.Of(v, inputs, dy) : null);
        }
    }

    /// <summary>Whether nearest's float32 index differs from the exact floor anywhere for this input: the answer then rests on rounding.</summary>
    public static bool NearestRoundingMatters(Interpolate op, Tensor x)
    {
        if (op.Mode is not ("nearest" or "nearest-exact")) return false;
        var pytorch = op.Axes(x.Shape);
        var exact = op.Axes(x.Shape, op.Rule with { ExactIndex = true });
        return pytorch.Zip(exact).Any(a => a.First.Taps.Zip(a.Second.Taps).Any(t => t.First[0].Index != t.Second[0].Index));
    }
}
