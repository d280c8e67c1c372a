namespace GradOracle.Layers;

/// <summary>One attribute an op takes, by its torch.nn.functional name.</summary>
/// <param name="Name">The name, e.g. <c>kernel_size</c>.</param>
/// <param name="Rule">What a value must be, as refusals say it.</param>
/// <param name="Default">The value when the request leaves it out, as Python writes it; null when it is required.</param>
public sealed record OpAttribute(string Name, string Rule, string? Default = null)
{
    /// <summary>Whether a request must send it.</summary>
    public bool Required => Default is null;
}
