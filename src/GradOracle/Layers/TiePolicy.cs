namespace GradOracle.Layers;

/// <summary>Which of several tied maxima of a window receives its gradient.</summary>
public enum TiePolicy
{
    /// <summary>The first in row-major scan order (PyTorch, Caffe, TF CPU, ONNX Runtime, MXNet).</summary>
    First,
    /// <summary>The last in scan order.</summary>
    Last,
    /// <summary>Equal shares among all tied maxima (sum-preserving).</summary>
    Split,
    /// <summary>The full gradient to every tied maximum (Theano; the gradient's sum grows: not a valid gradient).</summary>
    All,
}
