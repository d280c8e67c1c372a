namespace GradOracle.Layers;

/// <summary>How max pooling treats NaN: whether it wins, and which NaN of a window receives the gradient.</summary>
public enum NanRule
{
    /// <summary>NaN is the maximum; of several NaNs the last in scan order receives the gradient (PyTorch).</summary>
    Propagate,
    /// <summary>NaN never wins a comparison (Caffe); a window of NaNs only records its first element.</summary>
    Ignore,
    /// <summary>NaN is the maximum; the first NaN receives the gradient (NumPy's argmax).</summary>
    PropagateFirst,
    /// <summary>NaN is the maximum; its NaNs share the gradient equally.</summary>
    PropagateSplit,
    /// <summary>NaN is the maximum; the window passes no gradient (a mask <c>x == max</c> matches no NaN).</summary>
    PropagateNone,
}
