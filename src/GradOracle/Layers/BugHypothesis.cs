using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>
/// A known bug of an op, as what it would answer for the same inputs: named by a diagnosis only when that answer
/// reproduces an implementation's and differs from the right one.
/// </summary>
public sealed record BugHypothesis
{
    private BugHypothesis(string? tensor, string message, Func<OpResult?>? whole, Func<Tensor?>? one)
    {
        Tensor = tensor;
        Message = message;
        PredictWhole = whole;
        PredictTensor = one;
    }

    /// <summary>A bug that changes every tensor of the answer (a wrong attribute, a wrong divisor in the forward).</summary>
    public static BugHypothesis InWholeAnswer(string message, Func<OpResult?> predict) => new(null, message, predict, null);

    /// <summary>A bug confined to one tensor ("grads.input", "grads.weight", ...), the others left right.</summary>
    public static BugHypothesis InTensor(string tensor, string message, Func<Tensor?> predict) => new(tensor, message, null, predict);

    /// <summary>The tensor the bug changes; null when it changes the whole answer.</summary>
    public string? Tensor { get; }

    /// <summary>The bug, as the report names it.</summary>
    public string Message { get; }

    /// <summary>The whole answer the bug gives (null when the hypothesis does not apply); set when <see cref="Tensor"/> is null.</summary>
    public Func<OpResult?>? PredictWhole { get; }

    /// <summary>The one tensor the bug gives (null when the hypothesis does not apply); set when <see cref="Tensor"/> is not.</summary>
    public Func<Tensor?>? PredictTensor { get; }
}
