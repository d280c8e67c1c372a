#!/usr/bin/env python3
"""A vectorised NumPy implementation (the style of a student's CNN layers) of max pooling in every form,
convolution, relu, leaky_relu, linear, batch_norm, softmax and log_softmax, in spatial ranks 1-3, speaking
GradOracle's protocol v1 (docs/protocol.md). It ignores the tie_policy and nan_rule attributes, as most
real code does, and its switches pick the choices real code makes where a gradient has no single value;
every combination is a correct implementation:

  --ties first|last|split        which tied maximum gets a window's gradient (first: np.argmax, PyTorch)
  --nan last|first|split|none|ignore
                                 a window holding NaN: NaN wins and its last (PyTorch) / first (np.argmax)
                                 NaN gets the gradient, or they share it, or none does (a mask x == max);
                                 or NaN loses every comparison (Caffe)
  --relu-at-zero T               relu's slope at x = 0 (PyTorch 0; np.where(x >= 0, 1, 0) gives 1)
  --leaky-at-zero slope|1        leaky_relu's slope at x = 0
  --dtype float64|float32        the precision it computes in (and declares)
  --declare                      declare the choices above in the hello (then they are held strictly)

--bug NAME plants a known wrong gradient instead, for the tests:
  all-ties       every tied maximum gets the window's full gradient (mask = x == max, accumulated)
  overwrite      pooling windows overwrite each other's gradient (dx[...] = instead of +=)
  out-size       pooled output size computed as (n - k) // s + 1 (no padding, dilation or ceil_mode)
  keepdims       linear's and batch_norm's parameter gradients summed with keepdims=True
  pad-slice      convolution's input gradient cut out of the padded one as dx[..., p:-p] (empty at p = 0)
  float32-as-64  computes in float32 but declares float64
"""
import argparse
import itertools
import json
import math
import sys

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--ties", default="first", choices=["first", "last", "split"])
parser.add_argument("--nan", default="last", choices=["last", "first", "split", "none", "ignore"])
parser.add_argument("--relu-at-zero", type=float, default=0.0)
parser.add_argument("--leaky-at-zero", default="slope", choices=["slope", "1"])
parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
parser.add_argument("--declare", action="store_true")
parser.add_argument("--bug", default=None)
args = parser.parse_args()
DT = np.float32 if args.dtype == "float32" or args.bug == "float32-as-64" else np.float64
BUG = args.bug
RANKED = ["max_pool", "adaptive_max_pool", "global_max_pool", "conv"]
OPS = [f"{o}{r}d" for o in RANKED for r in (1, 2, 3)] + ["relu", "leaky_relu", "linear", "batch_norm", "softmax", "log_softmax"]


def tensor_in(t):
    special = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
    return np.array([special[v] if isinstance(v, str) else v for v in t["data"]], dtype=np.float64).astype(DT).reshape(t["shape"])


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


def per_dim(v, rank, default):
    if v is None:
        return [default] * rank
    if isinstance(v, int):
        return [v] * rank
    return list(v) if len(v) == rank else [v[0]] * rank


# ---- max pooling: every window's taps as flat indices into its plane (-1 outside), then one vectorised selection ----

def strided_axis(n, k, s, p, d, ceil):
    if BUG == "out-size":
        out = (n - k) // s + 1
    else:
        out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
        if ceil and (out - 1) * s >= n + p:
            out -= 1
    return [[o * s - p + i * d for i in range(k)] for o in range(out)]


def adaptive_axis(n, out):
    return [list(range(o * n // out, -(-(o + 1) * n // out))) for o in range(out)]


def window_table(spatial, axes):
    """(windows, taps) flat indices, -1 where a tap falls outside the input; windows in row-major order."""
    rows = []
    for combo in itertools.product(*axes):
        taps = []
        for pos in itertools.product(*combo):
            inside = all(0 <= q < n for q, n in zip(pos, spatial))
            taps.append(int(np.ravel_multi_index(pos, spatial)) if inside else -1)
        rows.append(taps)
    width = max(len(r) for r in rows)
    return np.array([r + [-1] * (width - len(r)) for r in rows]), [len(a) for a in axes]


def max_pool(op, x, dy, a):
    rank = x.ndim - 2
    spatial = list(x.shape[2:])
    if op.startswith("global"):
        axes = [adaptive_axis(n, 1) for n in spatial]
    elif op.startswith("adaptive"):
        axes = [adaptive_axis(n, o) for n, o in zip(spatial, per_dim(a["output_size"], rank, 1))]
    else:
        k = per_dim(a["kernel_size"], rank, 1)
        s = per_dim(a.get("stride"), rank, None)
        s = k if s[0] is None else s
        p = per_dim(a.get("padding"), rank, 0)
        d = per_dim(a.get("dilation"), rank, 1)
        axes = [strided_axis(n, kk, ss, pp, dd, bool(a.get("ceil_mode", False))) for n, kk, ss, pp, dd in zip(spatial, k, s, p, d)]
    idx, out_size = window_table(spatial, axes)
    planes = x.reshape(x.shape[0] * x.shape[1], -1)
    valid = idx >= 0
    vals = np.where(valid, planes[:, np.where(valid, idx, 0)], -np.inf)          # (planes, windows, taps)
    nan = np.isnan(vals) & valid
    finite = np.where(nan, -np.inf, vals)
    best = finite.max(axis=-1)
    ties = valid & ~nan & (finite == best[..., None])
    has_nan = nan.any(axis=-1)
    all_nan = has_nan & ~ties.any(axis=-1)

    def pick(mask, how):
        w = np.zeros(mask.shape, dtype=DT)
        rows = mask.any(axis=-1)
        if how == "first":
            w[rows, mask[rows].argmax(axis=-1)] = 1
        elif how == "last":
            last = mask.shape[-1] - 1 - mask[..., ::-1].argmax(axis=-1)
            w[rows, last[rows]] = 1
        elif how == "split":
            w = mask / np.maximum(mask.sum(axis=-1, keepdims=True), 1)
        elif how == "all":
            w = mask.astype(DT)
        return w.reshape(mask.shape)

    weights = pick(ties, "all" if BUG == "all-ties" else args.ties)
    nan_wins = has_nan if args.nan != "ignore" else all_nan
    nan_weights = pick(nan, "first" if args.nan == "ignore" else args.nan) if args.nan != "none" else np.zeros(nan.shape, DT)
    weights = np.where(nan_wins[..., None], nan_weights, weights)
    y = np.where(nan_wins, np.nan, best).astype(DT).reshape(x.shape[:2] + tuple(out_size))
    if dy is None:
        return y, None
    g = dy.reshape(planes.shape[0], -1)
    if g.shape[1] != idx.shape[0]:  # out-size: the windows it made are not the ones dy is for; it reads dy's first values
        g = np.resize(g, (g.shape[0], idx.shape[0]))
    share = weights * g[..., None]
    dx = np.zeros_like(planes)
    for pl in range(planes.shape[0]):
        if BUG == "overwrite":
            got = share[pl] != 0
            dx[pl, idx[got]] = share[pl][got]
        else:
            np.add.at(dx[pl], idx[valid], share[pl][valid])
    return y, {"input": dx.reshape(x.shape)}


# ---- convolution, one kernel tap at a time over the padded input ----

def conv(x, w, b, dy, a):
    rank = x.ndim - 2
    s = per_dim(a.get("stride"), rank, 1)
    d = per_dim(a.get("dilation"), rank, 1)
    g = int(a.get("groups", 1))
    kernel = w.shape[2:]
    pad = a.get("padding", 0)
    if pad == "valid":
        pads = [(0, 0)] * rank
    elif pad == "same":
        pads = [(dd * (kk - 1) // 2, dd * (kk - 1) - dd * (kk - 1) // 2) for dd, kk in zip(d, kernel)]
    else:
        pads = [(q, q) for q in per_dim(pad, rank, 0)]
    xp = np.pad(x, [(0, 0), (0, 0)] + pads)
    out = [(xp.shape[2 + i] - d[i] * (kernel[i] - 1) - 1) // s[i] + 1 for i in range(rank)]
    cg, og = x.shape[1] // g, w.shape[0] // g
    y = np.zeros((x.shape[0], w.shape[0], *out), dtype=DT)
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for gi in range(g):
        ci, oi = slice(gi * cg, (gi + 1) * cg), slice(gi * og, (gi + 1) * og)
        for tap in itertools.product(*[range(kk) for kk in kernel]):
            where = tuple(slice(t * dd, t * dd + ss * (o - 1) + 1, ss) for t, dd, ss, o in zip(tap, d, s, out))
            patch = xp[(slice(None), ci) + where]
            wt = w[(oi, slice(None)) + tap]
            y[:, oi] += np.einsum("nc...,oc->no...", patch, wt)
            if dy is not None:
                dxp[(slice(None), ci) + where] += np.einsum("no...,oc->nc...", dy[:, oi], wt)
                summed = [0] + list(range(2, patch.ndim))  # batch and output positions
                dw[(oi, slice(None)) + tap] += np.tensordot(dy[:, oi], patch, axes=(summed, summed))
    if b is not None:
        y += b.reshape((1, -1) + (1,) * rank)
    if dy is None:
        return y, None
    if BUG == "pad-slice":
        dx = dxp[(slice(None), slice(None)) + tuple(slice(p0, -p0) for p0, _ in pads)]
    else:
        dx = dxp[(slice(None), slice(None)) + tuple(slice(p0, xp.shape[2 + i] - p1) for i, (p0, p1) in enumerate(pads))]
    grads = {"input": dx, "weight": dw}
    if b is not None:
        grads["bias"] = dy.sum(axis=(0,) + tuple(range(2, dy.ndim)))
    return y, grads


# ---- the rest ----

def batch_norm(x, inputs, dy, a):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    w, b = inputs.get("weight"), inputs.get("bias")
    eps = a.get("eps", 1e-5)
    if a.get("training", False):
        mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    else:
        mean, var = inputs["running_mean"].reshape(shape), inputs["running_var"].reshape(shape)
    inv = 1 / np.sqrt(var + eps)
    xhat = (x - mean) * inv
    y = xhat * (w.reshape(shape) if w is not None else 1) + (b.reshape(shape) if b is not None else 0)
    if dy is None:
        return y, None
    dxhat = dy * (w.reshape(shape) if w is not None else 1)
    if a.get("training", False):
        m = x.size // x.shape[1]
        dx = inv / m * (m * dxhat - dxhat.sum(axis=axes, keepdims=True) - xhat * (dxhat * xhat).sum(axis=axes, keepdims=True))
    else:
        dx = dxhat * inv
    grads = {"input": dx}
    if w is not None:
        keep = BUG == "keepdims"
        grads["weight"] = (dy * xhat).sum(axis=axes, keepdims=keep)
        grads["bias"] = dy.sum(axis=axes, keepdims=keep)
    return y, grads


def softmax(x, dy, a, log):
    dim = a["dim"]
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    p = e / e.sum(axis=dim, keepdims=True)
    y = np.log(p) if log else p
    if dy is None:
        return y, None
    if log:
        return y, {"input": dy - p * dy.sum(axis=dim, keepdims=True)}
    return y, {"input": p * (dy - (dy * p).sum(axis=dim, keepdims=True))}


def run(op, a, inputs, dy):
    x = inputs["input"]
    if "max_pool" in op:
        return max_pool(op, x, dy, a)
    if op.startswith("conv"):
        return conv(x, inputs["weight"], inputs.get("bias"), dy, a)
    if op == "relu":
        slope = np.where(x > 0, 1, np.where(x == 0, args.relu_at_zero, 0)).astype(DT)
        return np.maximum(x, 0), None if dy is None else {"input": dy * slope}
    if op == "leaky_relu":
        k = a.get("negative_slope", 0.01)
        at0 = k if args.leaky_at_zero == "slope" else 1
        slope = np.where(x > 0, 1, np.where(x == 0, at0, k)).astype(DT)
        return np.where(x > 0, x, x * k).astype(DT), None if dy is None else {"input": dy * slope}
    if op == "linear":
        w, b = inputs["weight"], inputs.get("bias")
        y = x @ w.T + (b if b is not None else 0)
        if dy is None:
            return y, None
        lead = dy.reshape(-1, dy.shape[-1])
        grads = {"input": dy @ w, "weight": lead.T @ x.reshape(-1, x.shape[-1])}
        if b is not None:
            grads["bias"] = lead.sum(axis=0, keepdims=BUG == "keepdims")
        return y, grads
    if op == "batch_norm":
        return batch_norm(x, inputs, dy, a)
    return softmax(x, dy, a, log=op == "log_softmax")


def conventions():
    if not args.declare:
        return None
    nan = {"last": "propagate", "first": "propagate_first", "split": "propagate_split", "none": "propagate_none", "ignore": "ignore"}[args.nan]
    return {"tie_policy": args.ties, "nan_rule": nan, "relu_at_zero": args.relu_at_zero,
            "leaky_relu_at_zero": "negative_slope" if args.leaky_at_zero == "slope" else 1}


def answer(req):
    rid = req.get("id")
    if req.get("type") == "hello":
        hello = {"id": rid, "protocol": 1, "name": "numpy-conventions", "dtype": "float64" if BUG == "float32-as-64" else args.dtype, "ops": OPS}
        if conventions():
            hello["conventions"] = conventions()
        return hello
    if req["op"] not in OPS:
        return {"id": rid, "unsupported": True, "reason": f"{req['op']} is not implemented"}
    inputs = {k: tensor_in(v) for k, v in req["inputs"].items()}
    dy = tensor_in(req["grad_output"]) if req.get("grad_output") is not None else None
    try:
        with np.errstate(all="ignore"):
            y, grads = run(req["op"], req.get("attrs", {}), inputs, dy)
    except Exception as e:  # report, never die
        return {"id": rid, "error": f"{type(e).__name__}: {e}"}
    reply = {"id": rid, "output": tensor_out(y)}
    if dy is not None:
        reply["grads"] = {k: tensor_out(v) for k, v in grads.items()}
    return reply


for line in sys.stdin:
    if line.strip():
        sys.stdout.write(json.dumps(answer(json.loads(line))) + "\n")
        sys.stdout.flush()
