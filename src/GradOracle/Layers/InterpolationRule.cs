namespace GradOracle.Layers;

/// <summary>
/// How interpolate maps output coordinates to input taps: the mode, align_corners, and the departures known bugs make
/// (PyTorch's rule is the default of each).
/// </summary>
/// <param name="Mode">nearest, nearest-exact, linear, bilinear, trilinear or bicubic.</param>
/// <param name="AlignCorners">Corner centres aligned: source = o·(in - 1)/(out - 1).</param>
/// <param name="HalfPixel">Without align_corners, source = scale·(o + 0.5) - 0.5; false: scale·o (ONNX's "asymmetric").</param>
/// <param name="CubicA">Keys' cubic convolution parameter: PyTorch's -0.75 (TensorFlow and PIL take -0.5).</param>
/// <param name="ExactIndex">Nearest's floor(o·scale) in exact arithmetic rather than PyTorch's float32.</param>
public sealed record InterpolationRule(string Mode, bool AlignCorners, bool HalfPixel = true, double CubicA = -0.75, bool ExactIndex = false);
