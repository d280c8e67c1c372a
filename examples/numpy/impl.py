#!/usr/bin/env python3
"""An independent NumPy implementation of pooling, convolution, linear and a dozen activations, speaking GradOracle's
protocol v1 on stdin/stdout (docs/protocol.md). Written from PyTorch's documented rules, not from
GradOracle's code, so that `gradoracle verify` has a real second implementation to check.

    gradoracle verify --impl "/usr/bin/python3 examples/numpy/impl.py"

--bug NAME plants a known bug (for GradOracle's own tests of its diagnosis):
  mean-copy      average pooling's backward copies dy to every window cell instead of dividing
  tie-last       max pooling routes tied maxima to the last one (and ignores tie_policy)
  nan-ignore     max pooling lets NaN lose every comparison (Caffe's rule) instead of PyTorch's NaN-wins
  overwrite      pooling backward overwrites where windows overlap instead of accumulating
  unrotated      conv input gradient with the kernel not rotated
  dw-mean        conv weight gradient divided by the batch size
  sign           conv input gradient with its sign flipped
  pad-plus-one   pooling uses one more padding than asked
  silu-gate      silu's backward treats sigmoid(x) as a constant gate: dx = dy * sigmoid(x)
  mish-gate      mish's backward treats tanh(softplus(x)) as a constant gate
  hardtanh-pass  hardtanh's backward passes dy where the output is clamped
  relu6-upper    relu6's backward forgets the clamp at 6
  hardsigmoid-sixth  hardsigmoid's backward forgets the 1/6
  hardswish-gate hardswish's backward treats relu6(x + 3)/6 as a constant gate
  elu-output     elu's backward uses y, not y + alpha, for x <= 0
  selu-scale     selu's backward leaves out the scale
  celu-exp       celu's backward uses exp(x), not exp(x / alpha)
  softplus-beta  softplus's backward uses sigmoid(x), not sigmoid(beta * x)
  prelu-dw-all   prelu's weight gradient sums dy * x over every element, also where x > 0
  mse-no-two     mse_loss's backward misses the factor 2
  shuffle-dcr    pixel_shuffle with TensorFlow's depth_to_space channel order (DCR), not PyTorch's CRD
  outpad-front   conv_transpose adds output_padding's rows at the start of each dimension, not the end
  norm-unbiased  layer/group/instance norm normalise with the unbiased variance (np.var's ddof=1)
  norm-eps-outside  layer/group/instance norm divide by sqrt(var) + eps, not sqrt(var + eps)
  bce-logit-grad binary_cross_entropy's backward returns w * (p - t), the gradient with respect to logits
  bcel-pos-negative  binary_cross_entropy_with_logits puts pos_weight on the negative term
  kl-batchmean   kl_div's batchmean divides by the element count, as mean does
  nll-mean-count nll_loss's mean divides by the number of targets, not the sum of their weights
  l1-no-mean     l1_loss's backward misses the mean's division by the element count
  smooth-as-huber  smooth_l1_loss computes huber_loss with delta = beta (beta times too large)
  huber-as-smooth  huber_loss computes smooth_l1_loss with beta = delta (divided by delta)
  pad-symmetric  pad's reflect mode takes np.pad's 'symmetric' (the edge repeated), not its 'reflect'
  dropout-no-scale  dropout multiplies by the mask without the 1/(1 - p) scale
  embed-fancy    embedding's backward writes dw[idx] += dy with NumPy's fancy indexing, which keeps one of repeated rows
  unpool-put     max_unpool places with np.put into the whole output, the indices taken as global, not per plane
  lrn-sum        local_response_norm uses the AlexNet paper's alpha * sum of squares, not PyTorch's alpha * mean
  lp-no-kernel   lp_pool takes the power mean (avg_pool(x^p))^(1/p), leaving out the factor kernel_size
  interp-asymmetric  interpolate's linear modes map output o to o * scale, without the half-pixel offset
  bn-biased-running  batch_norm's running_var update takes the biased batch variance (np.var), not the unbiased
  bn-keepdims    batch_norm returns its running statistics of shape (1, C), as np.mean(..., keepdims=True) leaves them
  ls-others      cross_entropy's label_smoothing gives eps/(C-1) to each other class, not eps/C to every class
  tile-drop      conv's input gradient walks W in tiles of 32 and drops the last partial tile when W > 32 (a
                 size-dependent bug: small cases pass; verify --edges finds it)
Its hardtanh and relu6 pass dy at the edges (the mask lo <= x <= hi, as np.clip's users write it), where PyTorch
passes 0: both lie in the set of valid gradients there. Its prelu takes slope 1 at x = 0 (the mask x >= 0), where
PyTorch takes the weight: also valid. Its l1_loss takes slope 1 where input = target (d >= 0), and -1 for the
target, where PyTorch takes sign(0) = 0: valid too.
--dtype float32 computes in float32 (declared as such).
"""
import argparse
import json
import math
import sys

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--bug", default=None)
parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
args = parser.parse_args()
DT = np.float64 if args.dtype == "float64" else np.float32
BUG = args.bug
OPS = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "conv1d", "conv2d", "relu", "silu", "mish", "linear",
       "hardtanh", "relu6", "hardsigmoid", "hardswish", "elu", "selu", "celu", "softplus", "prelu",
       "pixel_shuffle", "pixel_unshuffle", "mse_loss", "conv_transpose1d", "conv_transpose2d",
       "layer_norm", "group_norm", "instance_norm",
       "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "nll_loss",
       "l1_loss", "smooth_l1_loss", "huber_loss", "pad", "dropout", "embedding", "max_unpool1d", "max_unpool2d",
       "local_response_norm", "cross_entropy", "lp_pool1d", "lp_pool2d", "interpolate", "batch_norm"]
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def activation(op, a, x):
    """(y, dy/dx) of an elementwise activation, or None for another op."""
    if op in ("hardtanh", "relu6"):
        lo, hi = (a.get("min_val", -1.0), a.get("max_val", 1.0)) if op == "hardtanh" else (0.0, 6.0)
        inside = (x >= lo) & (x <= hi) & (lo < hi)  # lo = hi: a constant, slope 0 everywhere
        if BUG == "hardtanh-pass" and op == "hardtanh":
            inside = np.ones_like(x, dtype=bool)
        if BUG == "relu6-upper" and op == "relu6":
            inside = x >= 0
        return np.clip(x, lo, hi), inside.astype(x.dtype)
    if op == "hardsigmoid":
        inside = (x > -3) & (x < 3)
        return np.clip(x + 3, 0, 6) / 6, np.where(inside, 1 if BUG == "hardsigmoid-sixth" else 1 / 6, 0)
    if op == "hardswish":
        gate = np.clip(x + 3, 0, 6) / 6
        slope = gate if BUG == "hardswish-gate" else np.where(x <= -3, 0, np.where(x < 3, x / 3 + 0.5, 1))
        return x * gate, slope
    if op in ("elu", "selu", "celu"):
        alpha = SELU_ALPHA if op == "selu" else a.get("alpha", 1.0)
        scale = SELU_SCALE if op == "selu" else 1.0
        k = 1 / alpha if op == "celu" else 1.0
        neg = scale * alpha * np.expm1(np.minimum(x, 0) * k)
        y = np.where(x > 0, scale * x, neg)
        d_neg = (neg if BUG == "elu-output" and op == "elu" else scale * alpha * k * np.exp(np.minimum(x, 0) * k))
        if BUG == "selu-scale" and op == "selu":
            d_neg, scale = d_neg / SELU_SCALE, 1.0
        if BUG == "celu-exp" and op == "celu":
            d_neg = np.exp(np.minimum(x, 0))
        return y, np.where(x > 0, scale, d_neg)
    if op == "softplus":
        beta, threshold = a.get("beta", 1.0), a.get("threshold", 20.0)
        linear = x * beta > threshold
        y = np.where(linear, x, np.logaddexp(0, beta * x) / beta)
        s = 1 / (1 + np.exp(-(x if BUG == "softplus-beta" else beta * x)))
        return y, np.where(linear, 1, s)
    return None


def tensor_in(t):
    special = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
    data = [special[v] if isinstance(v, str) else v for v in t["data"]]
    return np.array(data, dtype=np.float64).astype(DT).reshape(t["shape"])


def number_out(v):
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def tensor_out(a):
    a = np.asarray(a)
    return {"shape": list(a.shape), "data": [number_out(v) for v in a.reshape(-1)]}


def pair(v, default=None):
    if v is None:
        return default
    if isinstance(v, int):
        return [v, v]
    return list(v) if len(v) == 2 else [v[0], v[0]]


def out_size(n, k, s, p, d, ceil):
    num = n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)
    out = num // s + 1
    if ceil and (out - 1) * s >= n + p:
        out -= 1
    return out


# ---- pooling (2-d; 1-d is the 2-d op on a height-1 input) ----

def windows(shape, k, s, p, d, ceil):
    H, W = shape
    OH, OW = (out_size(H, k[0], s[0], p[0], d[0], ceil), out_size(W, k[1], s[1], p[1], d[1], ceil))
    for oh in range(OH):
        for ow in range(OW):
            taps = []
            for i in range(k[0]):
                h = oh * s[0] - p[0] + i * d[0]
                for j in range(k[1]):
                    w = ow * s[1] - p[1] + j * d[1]
                    if 0 <= h < H and 0 <= w < W:
                        taps.append((h, w))
            yield oh, ow, OH, OW, taps


def max_pool(x, dy, a):
    k = pair(a["kernel_size"])
    s = pair(a.get("stride"), k) or k
    p = pair(a.get("padding", 0), [0, 0])
    d = pair(a.get("dilation", 1), [1, 1])
    if BUG == "pad-plus-one":
        p = [v + 1 for v in p]
    ceil = bool(a.get("ceil_mode", False))
    N, C, H, W = x.shape
    wins = list(windows((H, W), k, s, p, d, ceil))
    OH, OW = (wins[0][2], wins[0][3]) if wins else (0, 0)
    y = np.zeros((N, C, OH, OW), dtype=DT)
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            plane = x[n, c]
            for oh, ow, _, _, taps in wins:
                best, at = -math.inf, taps[0]
                for t in taps:  # PyTorch: first maximum, NaN wins (the last NaN)
                    v = plane[t]
                    if BUG == "tie-last":
                        better = v >= best or math.isnan(v)
                    elif BUG == "nan-ignore":
                        better = v > best
                    else:
                        better = v > best or math.isnan(v)
                    if better:
                        best, at = v, t
                y[n, c, oh, ow] = plane[at]
                if dy is not None:
                    if BUG == "overwrite":
                        dx[n, c][at] = dy[n, c, oh, ow]
                    else:
                        dx[n, c][at] += dy[n, c, oh, ow]
    return y, dx


def avg_pool(x, dy, a):
    k = pair(a["kernel_size"])
    s = pair(a.get("stride"), k) or k
    p = pair(a.get("padding", 0), [0, 0])
    if BUG == "pad-plus-one":
        p = [v + 1 for v in p]
    ceil = bool(a.get("ceil_mode", False))
    include = bool(a.get("count_include_pad", True))
    override = a.get("divisor_override")
    N, C, H, W = x.shape
    OH, OW = out_size(H, k[0], s[0], p[0], 1, ceil), out_size(W, k[1], s[1], p[1], 1, ceil)
    y = np.zeros((N, C, OH, OW), dtype=DT)
    dx = np.zeros_like(x)
    for oh in range(OH):
        for ow in range(OW):
            h0, w0 = oh * s[0] - p[0], ow * s[1] - p[1]
            h1, w1 = min(h0 + k[0], H + p[0]), min(w0 + k[1], W + p[1])
            pool = (h1 - h0) * (w1 - w0)  # the window clipped to input + padding
            h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, H), min(w1, W)
            div = override if override else (pool if include else (h1 - h0) * (w1 - w0))
            y[:, :, oh, ow] = x[:, :, h0:h1, w0:w1].sum(axis=(2, 3)) / div
            if dy is not None:
                share = dy[:, :, oh, ow][:, :, None, None]
                if BUG == "mean-copy":
                    dx[:, :, h0:h1, w0:w1] += share
                elif BUG == "overwrite":
                    dx[:, :, h0:h1, w0:w1] = share / div
                else:
                    dx[:, :, h0:h1, w0:w1] += share / div
    return y, dx


# ---- convolution ----

def conv(x, w, b, dy, a):
    s = pair(a.get("stride", 1), [1, 1])
    d = pair(a.get("dilation", 1), [1, 1])
    g = int(a.get("groups", 1))
    pad = a.get("padding", 0)
    N, C, H, W = x.shape
    O, Cg, KH, KW = w.shape
    if pad == "valid":
        pads = [(0, 0), (0, 0)]
    elif pad == "same":
        pads = []
        for dim, kk in ((0, KH), (1, KW)):
            total = d[dim] * (kk - 1)
            pads.append((total // 2, total - total // 2))
    else:
        pp = pair(pad, [0, 0])
        pads = [(pp[0], pp[0]), (pp[1], pp[1])]
    xp = np.pad(x, ((0, 0), (0, 0), pads[0], pads[1]))
    Hp, Wp = xp.shape[2], xp.shape[3]
    OH = (Hp - d[0] * (KH - 1) - 1) // s[0] + 1
    OW = (Wp - d[1] * (KW - 1) - 1) // s[1] + 1
    Og = O // g
    y = np.zeros((N, O, OH, OW), dtype=DT)
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for gi in range(g):
        xs, os_ = slice(gi * Cg, (gi + 1) * Cg), slice(gi * Og, (gi + 1) * Og)
        for i in range(KH):
            for j in range(KW):
                hs = slice(i * d[0], i * d[0] + s[0] * (OH - 1) + 1, s[0])
                ws = slice(j * d[1], j * d[1] + s[1] * (OW - 1) + 1, s[1])
                patch = xp[:, xs, hs, ws]                       # (N, Cg, OH, OW)
                y[:, os_] += np.einsum("nchw,oc->nohw", patch, w[os_, :, i, j])
                if dy is not None:
                    wk = w[os_, :, KH - 1 - i, KW - 1 - j] if BUG == "unrotated" else w[os_, :, i, j]
                    dxp[:, xs, hs, ws] += np.einsum("nohw,oc->nchw", dy[:, os_], wk)
                    dw[os_, :, i, j] += np.einsum("nohw,nchw->oc", dy[:, os_], patch)
    if b is not None:
        y += b[None, :, None, None]
    dx = dxp[:, :, pads[0][0]:Hp - pads[0][1], pads[1][0]:Wp - pads[1][1]]
    if BUG == "tile-drop" and W > 32:
        dx[..., W - W % 32:] = 0  # the columns of the partial last tile were never written
    if BUG == "sign":
        dx = -dx
    if BUG == "dw-mean":
        dw = dw / N
    db = dy.sum(axis=(0, 2, 3)) if (dy is not None and b is not None) else None
    return y, dx, dw, db


def conv_transpose(x, w, b, dy, a):
    """Each input scatters x * w into an uncropped output; padding then crops each side and output_padding
    extends the end. The uncropped output starts `op` positions in, so that a crop may begin before it."""
    s, p = pair(a.get("stride", 1), [1, 1]), pair(a.get("padding", 0), [0, 0])
    op, d = pair(a.get("output_padding", 0), [0, 0]), pair(a.get("dilation", 1), [1, 1])
    g = int(a.get("groups", 1))
    N, C, H, W = x.shape
    _, Og, KH, KW = w.shape
    Cg = C // g
    size = [(n - 1) * s[i] - 2 * p[i] + d[i] * (k - 1) + op[i] + 1 for i, (n, k) in enumerate(((H, KH), (W, KW)))]
    start = [p[i] if BUG == "outpad-front" else op[i] + p[i] for i in range(2)]
    full = [op[i] + max(start[i] + size[i], op[i] + (n - 1) * s[i] + d[i] * (k - 1) + 1) for i, (n, k) in enumerate(((H, KH), (W, KW)))]
    yf = np.zeros((N, Og * g, full[0], full[1]), dtype=DT)
    crop = (slice(None), slice(None), slice(start[0], start[0] + size[0]), slice(start[1], start[1] + size[1]))
    dyf = None
    if dy is not None:
        dyf = np.zeros_like(yf)
        dyf[crop] = dy
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for gi in range(g):
        xs, os_ = slice(gi * Cg, (gi + 1) * Cg), slice(gi * Og, (gi + 1) * Og)
        for i in range(KH):
            for j in range(KW):
                hs = slice(op[0] + i * d[0], op[0] + i * d[0] + s[0] * (H - 1) + 1, s[0])
                ws = slice(op[1] + j * d[1], op[1] + j * d[1] + s[1] * (W - 1) + 1, s[1])
                yf[:, os_, hs, ws] += np.einsum("nchw,co->nohw", x[:, xs], w[xs, :, i, j])
                if dyf is not None:
                    dx[:, xs] += np.einsum("nohw,co->nchw", dyf[:, os_, hs, ws], w[xs, :, i, j])
                    dw[xs, :, i, j] += np.einsum("nchw,nohw->co", x[:, xs], dyf[:, os_, hs, ws])
    y = yf[crop]
    if b is not None:
        y = y + b[None, :, None, None]
    db = dy.sum(axis=(0, 2, 3)) if (dy is not None and b is not None) else None
    return y, dx, dw, db


def normalise(x, m, gamma, beta, eps, dy):
    """Blocks of m consecutive elements (in C order) normalised with their own mean and variance; gamma and beta
    are broadcast to x's shape. Backward through the mean and variance by the chain rule, step by step."""
    ddof = 1 if BUG == "norm-unbiased" else 0
    xb = x.reshape(-1, m)
    mu = xb.mean(axis=1, keepdims=True)
    c = xb - mu
    var = (c * c).sum(axis=1, keepdims=True) / (m - ddof)
    std = np.sqrt(var) + eps if BUG == "norm-eps-outside" else np.sqrt(var + eps)
    xhat = c / std
    y = xhat.reshape(x.shape) * gamma + beta
    if dy is None:
        return y, None, None, None
    dxhat = (dy * gamma).reshape(-1, m)
    dstd = -(dxhat * c).sum(axis=1, keepdims=True) / std ** 2
    dvar = dstd * (1 / (2 * np.sqrt(var)) if BUG == "norm-eps-outside" else 1 / (2 * std))
    dc = dxhat / std + dvar * 2 * c / (m - ddof)
    dx = dc - dc.mean(axis=1, keepdims=True)
    return y, dx.reshape(x.shape), dy * xhat.reshape(x.shape), dy


def reduce(losses, red, dy, batch=None):
    """A per-element loss reduced (mean, sum, none; batchmean divides the sum by the batch), and the upstream
    gradient each element receives."""
    div = 1 if red in ("sum", "none") else (batch if red == "batchmean" else losses.size)
    y = losses if red == "none" else np.asarray(losses.sum() / div)
    g = None if dy is None else (dy if red == "none" else np.full(losses.shape, dy / div))
    return y, g


def as2d(t):
    return t[:, :, None, :] if t is not None else None


def as1d_attrs(a):
    out = dict(a)
    for key in ("kernel_size", "stride", "padding", "dilation"):
        v = a.get(key)
        if isinstance(v, list):
            out[key] = [0 if key == "padding" else 1, v[0]]
        elif isinstance(v, int):
            out[key] = [0 if key == "padding" else 1, v]
    if "kernel_size" in out and "stride" not in a:
        out["stride"] = out["kernel_size"]
    return out


def lp_pool(x, dy, a):
    """torch.nn.functional's definition: (kernel cells * avg_pool(x^p))^(1/p); no gradient where a window sums to 0."""
    p, k = a["norm_type"], pair(a["kernel_size"])
    scale = 1 if BUG == "lp-no-kernel" else k[0] * k[1]
    unpadded = dict(a, padding=0, count_include_pad=True)
    mean, _ = avg_pool(x ** p, None, unpadded)
    y = (scale * mean) ** (1 / p)
    if dy is None:
        return y, None
    upstream = np.where(mean != 0, dy * y / np.where(mean != 0, mean, 1) / p, 0)  # d y / d mean = y / (p mean)
    _, dpow = avg_pool(x ** p, upstream, unpadded)
    return y, dpow * p * x ** (p - 1)


class Unsupported(Exception):
    """A configuration this example does not implement: answered unsupported, with the reason."""


def interp_taps(mode, n_in, n_out, align, factor):
    """Per output index along one axis, [(input index, weight)], by torch.nn.functional.interpolate's rules."""
    if mode in ("nearest", "nearest-exact"):
        # PyTorch computes the nearest index in float32; out = in copies and out = 2 in halves (legacy nearest).
        scale = np.float32(1.0 / factor) if factor else np.float32(n_in) / np.float32(n_out)
        if mode == "nearest":
            idx = [o if n_out == n_in else o // 2 if n_out == 2 * n_in else int(np.floor(np.float32(o) * scale)) for o in range(n_out)]
        else:
            idx = [int(np.floor(np.float32((o + 0.5) * float(scale)))) for o in range(n_out)]
        return [[(min(i, n_in - 1), 1.0)] for i in idx]
    if align:
        scale = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        scale = 1.0 / factor if factor else n_in / n_out
    taps = []
    for o in range(n_out):
        if n_out == n_in:
            taps.append([(o, 1.0)])
            continue
        src = scale * o if align or BUG == "interp-asymmetric" else max(scale * (o + 0.5) - 0.5, 0.0)
        i0 = min(int(np.floor(np.float32(src))), n_in - 1)
        lam = min(max(src - i0, 0.0), 1.0)
        taps.append([(i0, 1 - lam), (min(i0 + 1, n_in - 1), lam)])
    return taps


def interpolate(x, dy, a):
    mode, rank = a.get("mode", "nearest"), x.ndim - 2
    if mode not in ("nearest", "nearest-exact", "linear", "bilinear"):
        raise Unsupported(f"interpolate mode '{mode}' is not implemented here")
    size, factor = a.get("size"), a.get("scale_factor")
    def each(v):
        return None if v is None else (list(v) * rank if len(v) == 1 else list(v)) if isinstance(v, list) else [v] * rank
    size, factor = each(size), each(factor)
    if size is None:
        size = [int(np.floor(n * f)) for n, f in zip(x.shape[2:], factor)]
    given = factor if factor is not None and not a.get("recompute_scale_factor") else [None] * rank
    y, grad = x, dy
    # Separable: resample one axis at a time, forward from the first axis, backward through the same matrices.
    mats = []
    for ax in range(rank):
        n_in = x.shape[2 + ax]
        m = np.zeros((size[ax], n_in))
        for o, taps in enumerate(interp_taps(mode, n_in, size[ax], a.get("align_corners"), given[ax])):
            for i, w in taps:
                m[o, i] += w
        mats.append(m)
        y = np.moveaxis(np.tensordot(m, np.moveaxis(y, 2 + ax, 0), axes=1), 0, 2 + ax)
    if dy is None:
        return y, None
    for ax in reversed(range(rank)):
        grad = np.moveaxis(np.tensordot(mats[ax].T, np.moveaxis(grad, 2 + ax, 0), axes=1), 0, 2 + ax)
    return y, grad


def run(op, a, inputs, dy):
    x = inputs["input"]
    if op == "interpolate":
        y, dx = interpolate(x, dy, a)
        return y, ({"input": dx} if dy is not None else {})
    if op in ("lp_pool1d", "lp_pool2d"):
        one = op.endswith("1d")
        aa = as1d_attrs(a) if one else dict(a)
        if one and a.get("stride") is not None:
            aa["stride"] = [1, pair(a["stride"])[0]]
        if not one and a.get("stride") is None:
            aa["stride"] = a["kernel_size"]
        y, dx = lp_pool(as2d(x) if one else x, as2d(dy) if one else dy, aa)
        return (y[:, :, 0, :], {"input": dx[:, :, 0, :]} if dy is not None else {}) if one else (y, {"input": dx} if dy is not None else {})
    if op in ("max_pool2d", "avg_pool2d", "max_pool1d", "avg_pool1d"):
        one = op.endswith("1d")
        xx, dd, aa = (as2d(x), as2d(dy), as1d_attrs(a)) if one else (x, dy, a)
        if one and "stride" in a and a["stride"] is not None:
            aa["stride"] = [1, pair(a["stride"])[0]]
        y, dx = (max_pool if op.startswith("max") else avg_pool)(xx, dd, aa)
        return (y[:, :, 0, :], {"input": dx[:, :, 0, :]}) if one else (y, {"input": dx})
    if op in ("conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"):
        layer = conv_transpose if op.startswith("conv_transpose") else conv
        w, b = inputs["weight"], inputs.get("bias")
        if op.endswith("1d"):  # as 2-d with a height of 1
            aa = dict(a)
            for key, one in (("stride", 1), ("dilation", 1), ("padding", 0), ("output_padding", 0)):
                if not isinstance(a.get(key, one), str):  # conv's 'same' and 'valid' stay as they are
                    aa[key] = [0 if key.endswith("padding") else 1, pair(a.get(key, one))[0]]
            y, dx, dw, db = layer(as2d(x), w[:, :, None, :], b, as2d(dy), aa)
            y, grads = y[:, :, 0, :], {"input": dx[:, :, 0, :], "weight": dw[:, :, 0, :]}
        else:
            y, dx, dw, db = layer(x, w, b, dy, a)
            grads = {"input": dx, "weight": dw}
        if db is not None:
            grads["bias"] = db
        return y, grads
    if op == "batch_norm":
        w, b, eps, mom = inputs.get("weight"), inputs.get("bias"), a.get("eps", 1e-5), a.get("momentum", 0.1)
        c = x.shape[1]
        shape, axes = (c,) + (1,) * (x.ndim - 2), (0,) + tuple(range(2, x.ndim))
        gamma = w.reshape(shape) if w is not None else 1.0
        beta = b.reshape(shape) if b is not None else 0.0
        extras = {}
        if a.get("training", False):
            # Channels first, each channel's N x spatial values one block, normalised by the helper.
            xc = np.moveaxis(x, 1, 0)
            m = xc[0].size
            back = lambda t: np.moveaxis(t.reshape(xc.shape), 0, 1)
            yc, dxc, _, _ = normalise(xc.reshape(c, m), m, np.moveaxis(np.broadcast_to(gamma, x.shape), 1, 0).reshape(c, m),
                                      np.moveaxis(np.broadcast_to(beta, x.shape), 1, 0).reshape(c, m), eps,
                                      None if dy is None else np.moveaxis(dy, 1, 0).reshape(c, m))
            y, dx = back(yc), None if dy is None else back(dxc)
            mean, var = x.mean(axis=axes), x.var(axis=axes, ddof=0 if BUG == "bn-biased-running" else 1)
            if "running_mean" in inputs and "running_var" in inputs:
                extras = {"running_mean": (1 - mom) * inputs["running_mean"] + mom * mean,
                          "running_var": (1 - mom) * inputs["running_var"] + mom * var}
                if BUG == "bn-keepdims":
                    extras = {k: v.reshape(1, -1) for k, v in extras.items()}
            xhat = (x - mean.reshape(shape)) / np.sqrt(x.var(axis=axes).reshape(shape) + eps)
        else:
            inv = 1 / np.sqrt(inputs["running_var"].reshape(shape) + eps)
            xhat = (x - inputs["running_mean"].reshape(shape)) * inv
            y = xhat * gamma + beta
            dx = None if dy is None else dy * gamma * inv
        if dy is None:
            return y, {}, extras
        grads = {"input": dx}
        if w is not None:
            grads["weight"], grads["bias"] = (dy * xhat).sum(axis=axes), dy.sum(axis=axes)
        return y, grads, extras
    if op in ("layer_norm", "group_norm", "instance_norm"):
        w, b = inputs.get("weight"), inputs.get("bias")
        eps = a.get("eps", 1e-5)
        if op == "layer_norm":
            lead = x.ndim - len(a["normalized_shape"])
            m, shape, axes = int(np.prod(a["normalized_shape"])), x.shape[lead:], tuple(range(lead))
        else:
            groups = a["num_groups"] if op == "group_norm" else x.shape[1]
            m, shape = x.size // (x.shape[0] * groups), (x.shape[1],) + (1,) * (x.ndim - 2)
            axes = (0,) + tuple(range(2, x.ndim))
        gamma = w.reshape(shape) if w is not None else 1.0
        beta = b.reshape(shape) if b is not None else 0.0
        y, dx, dg, db = normalise(x, m, gamma, beta, eps, dy)
        grads = {"input": dx} if dy is not None else {}
        if dy is not None and w is not None:
            grads["weight"] = dg.sum(axis=axes).reshape(w.shape)
        if dy is not None and b is not None:
            grads["bias"] = db.sum(axis=axes).reshape(b.shape)
        return y, grads
    if op == "binary_cross_entropy":
        t, w = inputs["target"], inputs.get("weight", 1.0)
        losses = -w * (t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log1p(-x), -100))
        y, g = reduce(losses, a.get("reduction", "mean"), dy)
        if g is None:
            return y, {}
        dp = w * (x - t) * g if BUG == "bce-logit-grad" else w * (x - t) / np.maximum(x * (1 - x), 1e-12) * g
        return y, {"input": dp, "target": w * (np.log1p(-x) - np.log(x)) * g}
    if op == "binary_cross_entropy_with_logits":
        t, w, pw = inputs["target"], inputs.get("weight", 1.0), inputs.get("pos_weight", 1.0)
        pos, neg = (1.0, pw) if BUG == "bcel-pos-negative" else (pw, 1.0)
        sp = np.logaddexp(0, -x)  # softplus(-x) = -log(sigmoid(x))
        losses = w * (pos * t * sp + neg * (1 - t) * (x + sp))
        y, g = reduce(losses, a.get("reduction", "mean"), dy)
        if g is None:
            return y, {}
        sig = 1 / (1 + np.exp(-x))
        return y, {"input": w * g * (pos * t * (sig - 1) + neg * (1 - t) * sig), "target": w * g * (pos * sp - neg * (x + sp))}
    if op == "kl_div":
        t, log_t = inputs["target"], a.get("log_target", False)
        red = a.get("reduction", "mean")
        losses = np.exp(t) * (t - x) if log_t else np.where(t > 0, t * np.log(np.where(t > 0, t, 1)), 0) - t * x
        y, g = reduce(losses, "mean" if BUG == "kl-batchmean" and red == "batchmean" else red, dy, batch=x.shape[0])
        if g is None:
            return y, {}
        return y, {"input": -(np.exp(t) if log_t else t) * g, "target": (np.exp(t) * (t - x + 1) if log_t else np.log(t) + 1 - x) * g}
    if op == "cross_entropy":
        t, red = inputs["target"], a.get("reduction", "mean")
        eps, ignore, c = a.get("label_smoothing", 0.0), a.get("ignore_index", -100), x.shape[1]
        w = inputs.get("weight", np.ones(c))
        along = (1, c) + (1,) * (x.ndim - 2)  # broadcast a per-class vector over (N, C, *)
        logp = x - x.max(axis=1, keepdims=True)
        logp = logp - np.log(np.exp(logp).sum(axis=1, keepdims=True))
        if t.shape == x.shape:  # class probabilities; the mean is over N x spatial
            q = t * (1 - eps) + eps / c
            div = q[:, 0].size
        else:
            ti = t.astype(np.int64)
            keep = ti != ignore
            safe = np.where(keep, ti, 0)
            onehot = (np.arange(c).reshape(along) == safe[:, None]).astype(x.dtype)
            spread = eps / (c - 1) * (1 - onehot) if BUG == "ls-others" and c > 1 else eps / c
            q = (onehot * (1 - eps) + spread) * keep[:, None]
            div = np.where(keep, w[safe], 0.0).sum()
        qw = q * w.reshape(along)
        losses = -(qw * logp).sum(axis=1)
        y = losses if red == "none" else np.asarray(losses.sum() / (div if red == "mean" else 1))
        if dy is None:
            return y, {}
        g = dy if red == "none" else np.full(losses.shape, dy / (div if red == "mean" else 1))
        return y, {"input": g[:, None] * (np.exp(logp) * qw.sum(axis=1, keepdims=True) - qw)}
    if op == "nll_loss":
        t = inputs["target"].astype(np.int64)
        ignore, red = a.get("ignore_index", -100), a.get("reduction", "mean")
        w = inputs.get("weight", np.ones(x.shape[1]))
        keep = t != ignore
        safe = np.where(keep, t, 0)
        picked = np.take_along_axis(x, safe[:, None], axis=1)[:, 0]
        wt = np.where(keep, w[safe], 0.0)
        losses = -wt * picked
        div = 1 if red != "mean" else (keep.sum() if BUG == "nll-mean-count" else wt.sum())
        y = losses if red == "none" else np.asarray(losses.sum() / div)
        if dy is None:
            return y, {}
        g = dy if red == "none" else np.full(losses.shape, dy / div)
        dx = np.zeros_like(x)
        np.put_along_axis(dx, safe[:, None], (-wt * g)[:, None], axis=1)
        return y, {"input": dx}
    if op in ("l1_loss", "smooth_l1_loss", "huber_loss"):
        d = x - inputs["target"]
        z = np.abs(d)
        if op == "smooth_l1_loss" and BUG == "smooth-as-huber" and a.get("beta", 1.0) > 0 or op == "huber_loss" and BUG != "huber-as-smooth":
            c = a.get("beta", a.get("delta", 1.0))  # huber: 0.5 d^2 inside, c * (|d| - c/2) outside
            losses, slope = np.where(z <= c, 0.5 * d * d, c * (z - 0.5 * c)), np.clip(d, -c, c)
        elif op in ("smooth_l1_loss", "huber_loss") and a.get("beta", a.get("delta", 1.0)) > 0:
            c = a.get("beta", a.get("delta", 1.0))
            losses, slope = np.where(z < c, 0.5 * d * d / c, z - 0.5 * c), np.clip(d / c, -1, 1)
        else:  # l1, and smooth l1 with beta 0
            losses, slope = z, np.where(d >= 0, 1.0, -1.0)
        red = a.get("reduction", "mean")
        y, g = reduce(losses, "sum" if BUG == "l1-no-mean" and op == "l1_loss" and red == "mean" else red, dy)
        if g is None:
            return y, {}
        y = reduce(losses, red, None)[0]
        return y, {"input": slope * g, "target": -slope * g}
    if op in ("max_unpool1d", "max_unpool2d"):
        r = 1 if op == "max_unpool1d" else 2
        k = pair(a["kernel_size"], [1, 1])[:r] if r == 2 else [pair(a["kernel_size"])[0]]
        s_ = (pair(a["stride"])[:r] if r == 2 else [pair(a["stride"])[0]]) if a.get("stride") is not None else k
        p_ = pair(a.get("padding", 0), [0, 0])[:r] if r == 2 else [pair(a.get("padding", 0))[0]]
        size = a.get("output_size") or [(x.shape[2 + d] - 1) * s_[d] - 2 * p_[d] + k[d] for d in range(r)]
        n, c = x.shape[:2]
        idx = inputs["indices"].astype(np.int64).reshape(n, c, -1)
        out = np.zeros((n, c, int(np.prod(size))))
        if BUG == "unpool-put":
            np.put(out, idx, x)  # np.put indexes the flattened whole array
        else:
            np.put_along_axis(out, idx, x.reshape(n, c, -1), axis=2)
        y = out.reshape((n, c) + tuple(size))
        if dy is None:
            return y, {}
        g = dy.reshape(-1)[idx] if BUG == "unpool-put" else np.take_along_axis(dy.reshape(n, c, -1), idx, axis=2)
        return y, {"input": g.reshape(x.shape)}
    if op == "local_response_norm":
        size, alpha, beta, k = a["size"], a.get("alpha", 1e-4), a.get("beta", 0.75), a.get("k", 1.0)
        C = x.shape[1]
        sq = np.pad(x * x, [(0, 0), (size // 2, (size - 1) // 2)] + [(0, 0)] * (x.ndim - 2))
        s_ = sum(sq[:, j:j + C] for j in range(size)) / (1 if BUG == "lrn-sum" else size)
        u = k + alpha * s_
        y = x * u ** -beta
        if dy is None:
            return y, {}
        t = np.pad(dy * x * u ** (-beta - 1), [(0, 0), ((size - 1) // 2, size // 2)] + [(0, 0)] * (x.ndim - 2))
        cross = sum(t[:, j:j + C] for j in range(size))  # over the windows c that contain each channel
        dx = dy * u ** -beta - 2 * alpha * beta / (1 if BUG == "lrn-sum" else size) * x * cross
        return y, {"input": dx}
    if op == "embedding":
        w, idx = inputs["weight"], x.astype(np.int64)
        y = w[idx]
        if dy is None:
            return y, {}
        dw = np.zeros_like(w)
        rows, g = idx.reshape(-1), dy.reshape(-1, w.shape[1])
        if BUG == "embed-fancy":
            dw[rows] += g  # buffered: a row read twice gets one dy
        else:
            np.add.at(dw, rows, g)
        if a.get("padding_idx") is not None:
            dw[a["padding_idx"]] = 0
        return y, {"weight": dw}
    if op == "dropout":
        p, training = a.get("p", 0.5), a.get("training", True)
        scale = 1.0 if BUG == "dropout-no-scale" else (0.0 if p == 1 else 1 / (1 - p))
        f = inputs["mask"] * scale if training else np.ones_like(x)
        return x * f, ({"input": dy * f} if dy is not None else {})
    if op == "pad":
        # Which input element each output reads: np.pad of the indices (-1 for the constant), then crops for negative pads.
        pads, mode = a["pad"], a.get("mode", "constant")
        widths = [(0, 0)] * x.ndim
        for k in range(len(pads) // 2):
            widths[x.ndim - 1 - k] = (pads[2 * k], pads[2 * k + 1])
        grow = [(max(b, 0), max(e, 0)) for b, e in widths]
        index = np.arange(x.size).reshape(x.shape)
        if mode == "constant":
            src = np.pad(index, grow, constant_values=-1)
        else:
            kind = {"reflect": "symmetric" if BUG == "pad-symmetric" else "reflect", "replicate": "edge", "circular": "wrap"}[mode]
            src = np.pad(index, grow, mode=kind)
        src = src[tuple(slice(-min(b, 0), src.shape[d] + min(e, 0)) for d, (b, e) in enumerate(widths))]
        flat = x.reshape(-1)
        y = np.where(src >= 0, flat[np.maximum(src, 0)], a.get("value", 0.0))
        if dy is None:
            return y, {}
        dx = np.zeros(x.size)
        np.add.at(dx, src[src >= 0], dy[src >= 0])
        return y, {"input": dx.reshape(x.shape)}
    if op == "relu":
        return np.where(x > 0, x, 0).astype(DT), {"input": (dy * (x > 0)) if dy is not None else None}
    if op == "silu":
        s = 1 / (1 + np.exp(-x))
        if dy is None:
            return (x * s).astype(DT), {}
        slope = s if BUG == "silu-gate" else s + x * s * (1 / (1 + np.exp(x)))
        return (x * s).astype(DT), {"input": (dy * slope).astype(DT)}
    if op == "mish":
        sp = np.logaddexp(0, x)  # ln(1 + e^x) without overflow
        t = np.tanh(sp)
        if dy is None:
            return (x * t).astype(DT), {}
        slope = t if BUG == "mish-gate" else t + x * (1 / (1 + np.exp(-x))) / np.cosh(sp) ** 2
        return (x * t).astype(DT), {"input": (dy * slope).astype(DT)}
    if op == "mse_loss":
        d = x - inputs["target"]
        red = a.get("reduction", "mean")
        y = d * d if red == "none" else (d * d).sum() if red == "sum" else (d * d).mean()
        if dy is None:
            return np.asarray(y, dtype=DT), {}
        g = dy if red == "none" else dy / d.size if red == "mean" else dy
        dx = (1 if BUG == "mse-no-two" else 2) * d * g
        return np.asarray(y, dtype=DT), {"input": dx.astype(DT), "target": (-dx).astype(DT)}
    if op in ("pixel_shuffle", "pixel_unshuffle"):
        r = a["upscale_factor" if op == "pixel_shuffle" else "downscale_factor"]
        lead, (c, h, w) = x.shape[:-3], x.shape[-3:]
        dcr = BUG == "shuffle-dcr"

        def shuffle(t, c):  # (*, c*r*r, h, w) -> (*, c, h*r, w*r)
            t = t.reshape(lead + ((r, r, c) if dcr else (c, r, r)) + t.shape[-2:])
            t = np.moveaxis(t, (-5, -4, -3) if dcr else (-4, -3), (-3, -1, -5) if dcr else (-3, -1))
            return t.reshape(lead + (c, t.shape[-4] * r, t.shape[-2] * r))

        def unshuffle(t, c):  # (*, c, h*r, w*r) -> (*, c*r*r, h, w)
            t = t.reshape(lead + (c, t.shape[-2] // r, r, t.shape[-1] // r, r))
            t = np.moveaxis(t, (-3, -1), (-4, -3)) if not dcr else np.moveaxis(t, (-5, -3, -1), (-3, -5, -4))
            return t.reshape(lead + (c * r * r,) + t.shape[-2:])

        if op == "pixel_shuffle":
            y = shuffle(x, c // (r * r))
            return y, ({"input": unshuffle(dy, c // (r * r))} if dy is not None else {})
        y = unshuffle(x, c)
        return y, ({"input": shuffle(dy, c)} if dy is not None else {})
    if op == "prelu":
        w = inputs["weight"]
        a_ = w.reshape((1, -1) + (1,) * (x.ndim - 2)) if w.size > 1 else w.reshape(())
        y = np.where(x > 0, x, a_ * x).astype(DT)
        if dy is None:
            return y, {}
        pos = x >= 0  # slope 1 at 0: a valid choice, not PyTorch's
        dx = np.where(pos, dy, a_ * dy)
        term = dy * x if BUG == "prelu-dw-all" else np.where(x > 0, 0, dy * x)
        dw = term.sum(axis=tuple(d for d in range(x.ndim) if d != 1)) if w.size > 1 else np.array([term.sum()])
        return y, {"input": dx.astype(DT), "weight": dw.astype(DT)}
    if (act := activation(op, a, x)) is not None:
        y, slope = act
        return y.astype(DT), ({"input": (dy * slope).astype(DT)} if dy is not None else {})
    if op == "linear":
        w, b = inputs["weight"], inputs.get("bias")
        y = x @ w.T + (b if b is not None else 0)
        if dy is None:
            return y, {}
        lead = dy.reshape(-1, dy.shape[-1])
        grads = {"input": dy @ w, "weight": lead.T @ x.reshape(-1, x.shape[-1])}
        if b is not None:
            grads["bias"] = lead.sum(axis=0)
        return y, grads
    return None


def answer(line):
    req = json.loads(line)
    rid = req.get("id")
    if req.get("type") == "hello":
        return {"id": rid, "protocol": 1, "name": "numpy-example" + (f" (bug: {BUG})" if BUG else ""), "dtype": args.dtype, "ops": OPS}
    if req.get("type") != "run":
        return {"id": rid, "error": "unknown request type"}
    if req["op"] not in OPS:
        return {"id": rid, "unsupported": True}
    inputs = {k: tensor_in(v) for k, v in req["inputs"].items()}
    dy = tensor_in(req["grad_output"]) if req.get("grad_output") is not None else None
    try:
        y, grads, *extras = run(req["op"], req.get("attrs", {}), inputs, dy)
    except Unsupported as e:
        return {"id": rid, "unsupported": True, "reason": str(e)}
    except Exception as e:  # report, never die
        return {"id": rid, "error": f"{type(e).__name__}: {e}"}
    reply = {"id": rid, "output": tensor_out(y)}
    if dy is not None:
        reply["grads"] = {k: tensor_out(v) for k, v in grads.items() if v is not None}
    if extras and extras[0]:
        reply["extras"] = {k: tensor_out(v) for k, v in extras[0].items()}
    return reply


for line in sys.stdin:
    if line.strip():
        sys.stdout.write(json.dumps(answer(line)) + "\n")
        sys.stdout.flush()
