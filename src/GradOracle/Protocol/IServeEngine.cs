using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Protocol;

/// <summary>
/// What computes `gradoracle serve`'s answers: the oracle itself, or another implementation of the same ops
/// (libtorch), so that verify can be run against it end to end.
/// </summary>
public interface IServeEngine
{
    /// <summary>The name the hello reply gives.</summary>
    string Name { get; }

    /// <summary>The op names it answers.</summary>
    IReadOnlyList<string> Ops { get; }

    /// <summary>What it does where a gradient is a set, as a hello declares it.</summary>
    IReadOnlyDictionary<string, string> Conventions { get; }

    /// <summary>
    /// The op that answers for <paramref name="op"/> (the request read into the oracle's op), or null with
    /// <paramref name="whyNot"/> when this engine has no counterpart: the request is then answered unsupported.
    /// </summary>
    IOp? Answering(IOp op, out string? whyNot);

    /// <summary>
    /// What the answering op selected, for ops that select (max pooling's argmax: a flat index into each (N, C) input
    /// plane, as integral numbers), sent beside the output; null for other ops.
    /// </summary>
    Tensor? Indices(IOp answering, NamedTensors inputs);
}
