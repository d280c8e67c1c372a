namespace GradOracle.Layers;

/// <summary>One input of an op, by its torch.nn.functional name, as requests carry it.</summary>
/// <param name="Name">The name, e.g. <c>weight</c>.</param>
/// <param name="Optional">Whether a request may leave it out (a bias; batch norm's weight, bias and running statistics).</param>
/// <param name="Differentiable">Whether the op's backward returns its gradient (not a class index or a running statistic).</param>
/// <param name="Integral">Whether the op reads it as integers (class indices): binary transfer sends it as int64.</param>
/// <param name="IntegralWhen">
/// For an input that is integral only in some requests (cross_entropy's target holds class indices unless it is shaped
/// like the input): whether these inputs make it so. Null: <paramref name="Integral"/> decides alone.
/// </param>
public sealed record OpInput(string Name, bool Optional = false, bool Differentiable = true, bool Integral = false,
    Func<NamedTensors, bool>? IntegralWhen = null)
{
    /// <summary>Whether the op reads this input as integers in a request with these inputs.</summary>
    public bool IsIntegralIn(NamedTensors inputs) => Integral && (IntegralWhen?.Invoke(inputs) ?? true);
}
