using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Torch;

/// <summary>Compares the oracle with libtorch on forward output and every gradient.</summary>
public static class TorchParity
{
    /// <summary>Normwise relative tolerance where the operation is arithmetic, not a selection.</summary>
    public const double RelativeTolerance = 1e-12;

    /// <summary>Runs <paramref name="op"/> in the oracle and in libtorch and compares output, gradients and (max pooling) indices.</summary>
    public static ParityResult Compare(IOp op, NamedTensors inputs, Tensor gradOutput)
    {
        var torch = TorchOp.For(op, out var whyNot);
        if (torch is null) return new ParityResult(ParityStatus.NoCounterpart, whyNot, []);

        string? oracleError = null, torchError = null;
        Tensor? y = null, yT = null;
        NamedTensors? g = null, gT = null;
        IndexTensor? indices = null;
        Tensor? indicesT = null;
        NamedTensors? extras = null, extrasT = null;
        try
        {
            y = op.Forward(inputs);
            g = op.Backward(inputs, gradOutput);
            indices = op.Descriptor.Indices(op, inputs);
            extras = (op as IHasExtraOutputs)?.ExtraOutputs(inputs);
        }
        catch (ParameterException e) { oracleError = e.Message; }
        try
        {
            if (torch is TorchOp single)
            {
                var a = single.Call(inputs, gradOutput);
                if (a.Error is not null) throw new TorchException(a.Error);
                yT = a.Output;
                gT = new NamedTensors(op.DifferentiableInputs.Select(n => (n, a.Tensors[$"grad.{n}"])).ToArray());
                if (a.Tensors.Contains("indices")) indicesT = a.Tensors["indices"];
                extrasT = TorchOp.Extras(a);
            }
            else
            {
                yT = torch.Forward(inputs);
                gT = torch.Backward(inputs, gradOutput);
            }
        }
        catch (TorchException e) { torchError = e.Message.Split('\n')[0]; }

        if (oracleError is not null && torchError is not null)
            return new ParityResult(ParityStatus.Agree, $"both refuse: oracle \"{oracleError}\", libtorch \"{torchError}\"", []);
        if (torchError is not null)
            return new ParityResult(ParityStatus.Disagree, $"libtorch refuses what the oracle accepts: {torchError}", []);
        if (oracleError is not null)
            return new ParityResult(ParityStatus.Disagree, $"the oracle refuses what libtorch accepts: {oracleError}", []);

        bool exact = Tolerance.ComparesExactly(op); // selections: exactly
        // A gradient that cancels to nearly nothing (batch norm with two values per channel, a bias feeding
        // batch norm, whose true gradient is 0) keeps rounding noise the size of the terms that cancelled,
        // not of the remainder: gradients are measured against the case's largest gradient element.
        double gradScale = Tolerance.GradientScale(gT!);
        var known = op.Descriptor.TorchError;
        double tolerance = Math.Max(RelativeTolerance, known?.Relative ?? 0);
        var tensors = new List<TensorParity> { Compare("output", y!, yT!, exact, 0, tolerance) };
        foreach (var name in op.DifferentiableInputs) tensors.Add(Compare($"grad.{name}", g![name], gT![name], exact, gradScale, tolerance));
        if (indices is not null && indicesT is not null)
            tensors.Add(Compare("indices", Tensor.FromArray(indices.Shape, indices.Data.Select(v => (double)v).ToArray()), indicesT, exact: true, 0, 0));
        foreach (var name in extras?.Names ?? [])
            tensors.Add(extrasT is not null && extrasT.Contains(name) ? Compare($"extras.{name}", extras![name], extrasT[name], exact: false, 0, tolerance)
                : new TensorParity($"extras.{name}", false, double.PositiveInfinity, double.PositiveInfinity, false, "libtorch returned no such output"));
        bool agree = tensors.All(t => t.Agree);
        // Agreement that needed libtorch's own error says so.
        string? note = agree && known is not null && tensors.Any(t => t.WorstRelative > RelativeTolerance) ? $"within libtorch's known error: {known.Why}" : null;
        return new ParityResult(agree ? ParityStatus.Agree : ParityStatus.Disagree, note, [.. tensors]);
    }

    private static TensorParity Compare(string name, Tensor ours, Tensor theirs, bool exact, double scaleFloor, double tolerance)
    {
        if (ours.Shape != theirs.Shape)
            return new TensorParity(name, exact, double.PositiveInfinity, double.PositiveInfinity, false, $"shape {ours.Shape} vs libtorch {theirs.Shape}");
        double worst = 0, scale = scaleFloor;
        int worstAt = -1;
        string? mismatch = null;
        for (int i = 0; i < ours.Count; i++)
        {
            double a = ours.At(i), b = theirs.At(i);
            if (double.IsNaN(a) || double.IsNaN(b))
            {
                if (double.IsNaN(a) != double.IsNaN(b)) mismatch ??= $"at {At(ours, i)}: oracle {F(a)}, libtorch {F(b)} (NaN at only one side)";
                continue;
            }
            // Exact by value, as verify compares: a selection's zero may carry either sign (relu's dy·0 against
            // libtorch's selected 0); max pooling's routing is compared through its indices.
            if (exact ? a != b : (double.IsInfinity(a) || double.IsInfinity(b)) && a != b)
                mismatch ??= $"at {At(ours, i)}: oracle {F(a)}, libtorch {F(b)}{(exact ? " (must match exactly)" : "")}";
            if (double.IsInfinity(a) || double.IsInfinity(b)) continue;
            scale = Math.Max(scale, Math.Abs(b));
            double diff = Math.Abs(a - b);
            if (diff > worst) { worst = diff; worstAt = i; }
        }
        double relative = worst == 0 ? 0 : worst / Math.Max(scale, double.Epsilon);
        bool agree = mismatch is null && (exact ? worst == 0 : relative <= tolerance);
        string? detail = mismatch ?? (agree || worstAt < 0 ? null
            : $"at {At(ours, worstAt)}: oracle {F(ours.At(worstAt))}, libtorch {F(theirs.At(worstAt))} (relative {relative:G3})");
        return new TensorParity(name, exact, worst, relative, agree, detail);
    }

    private static string At(Tensor t, int i) => "[" + string.Join(", ", t.Shape.Coordinates(i)) + "]";

    private static string F(double v) => Tensor.FormatNumber(v);
}
