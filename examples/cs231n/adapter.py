#!/usr/bin/env python3
"""Protocol v1 for a cs231n-style layers.py (the assignment's API: max_pool_forward_naive(x, pool_param),
conv_forward_naive(x, w, b, conv_param), affine_forward(x, w, b), relu_forward(x), batchnorm_forward(x,
gamma, beta, bn_param), spatial_batchnorm_forward, softmax_loss(x, y), each with its *_backward(dout, cache)).
It maps GradOracle's torch.nn.functional names onto those functions and answers "unsupported", with the
reason, for configurations the API cannot express (dilation, ceil_mode, pooling padding, unequal strides).

    gradoracle verify --impl "python3 examples/cs231n/adapter.py --layers path/to/cs231n/layers.py"

The layers file is imported as it is; nothing of it is copied here.
"""
import argparse
import importlib.util
import io
import json
import math
import os
import sys
import contextlib

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--layers", required=True, help="path to the layers.py to check")
args = parser.parse_args()

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(args.layers))))  # its package (cs231n/) importable
protocol_out = sys.stdout
sys.stdout = sys.stderr  # a print in the layers must not corrupt the protocol stream
spec = importlib.util.spec_from_file_location("layers_under_test", args.layers)
layers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(layers)


def has(*names):
    return all(callable(getattr(layers, n, None)) for n in names)


OPS = []
if has("max_pool_forward_naive", "max_pool_backward_naive"):
    OPS.append("max_pool2d")
if has("conv_forward_naive", "conv_backward_naive"):
    OPS.append("conv2d")
if has("affine_forward", "affine_backward"):
    OPS.append("linear")
if has("relu_forward", "relu_backward"):
    OPS.append("relu")
if has("batchnorm_forward", "batchnorm_backward"):
    OPS.append("batch_norm")
if has("softmax_loss"):
    OPS.append("cross_entropy")


class Unsupported(Exception):
    pass


def tensor_in(t):
    special = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
    return np.array([special[v] if isinstance(v, str) else v for v in t["data"]], dtype=np.float64).reshape(t["shape"])


def number_out(v):
    v = float(v)
    return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity") if math.isinf(v) else v


def tensor_out(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [number_out(v) for v in a.reshape(-1)]}


def pair(v, default):
    v = default if v is None else v
    return [v, v] if isinstance(v, int) else list(v)


def max_pool2d(x, dy, a):
    k, s = pair(a["kernel_size"], None), pair(a.get("stride") or a["kernel_size"], None)
    if s[0] != s[1]:
        raise Unsupported("pool_param has one stride for both dimensions")
    if any(pair(a.get("padding"), 0)) or any(d != 1 for d in pair(a.get("dilation"), 1)) or a.get("ceil_mode"):
        raise Unsupported("pool_param has no padding, dilation or ceil_mode")
    out, cache = layers.max_pool_forward_naive(x, {"pool_height": k[0], "pool_width": k[1], "stride": s[0]})
    return out, (None if dy is None else {"input": layers.max_pool_backward_naive(dy, cache)})


def conv2d(x, w, b, dy, a):
    s, pad = pair(a.get("stride"), 1), a.get("padding", 0)
    if pad == "valid":
        pad = 0
    elif pad == "same":  # one integer pad gives 'same' for odd kernels at stride 1
        k = w.shape[2:]
        if any(kk % 2 == 0 for kk in k) or any(d != 1 for d in pair(a.get("dilation"), 1)):
            raise Unsupported("'same' needs an uneven pad for even kernels or dilation; conv_param takes one integer pad")
        pad = [(kk - 1) // 2 for kk in k]
    pad = pair(pad, 0)
    if s[0] != s[1] or pad[0] != pad[1]:
        raise Unsupported("conv_param has one stride and one pad for both dimensions")
    if any(d != 1 for d in pair(a.get("dilation"), 1)) or a.get("groups", 1) != 1:
        raise Unsupported("conv_param has no dilation or groups")
    bias = b if b is not None else np.zeros(w.shape[0])
    out, cache = layers.conv_forward_naive(x, w, bias, {"stride": s[0], "pad": pad[0]})
    if dy is None:
        return out, None
    dx, dw, db = layers.conv_backward_naive(dy, cache)
    grads = {"input": dx, "weight": dw}
    if b is not None:
        grads["bias"] = db
    return out, grads


def linear(x, w, b, dy):
    # affine_forward flattens every dimension after the first, torch's linear acts on the last: rows of (*, in) agree.
    rows = x.reshape(-1, x.shape[-1])
    bias = b if b is not None else np.zeros(w.shape[0])
    out, cache = layers.affine_forward(rows, w.T.copy(), bias)  # cs231n's weight is (in, out), torch's (out, in)
    out = np.asarray(out).reshape(x.shape[:-1] + (w.shape[0],))
    if dy is None:
        return out, None
    dx, dw, db = layers.affine_backward(dy.reshape(-1, w.shape[0]), cache)
    grads = {"input": np.asarray(dx).reshape(x.shape), "weight": np.asarray(dw).T}
    if b is not None:
        grads["bias"] = db
    return out, grads


def batch_norm(inputs, dy, a):
    x = inputs["input"]
    if not a.get("training", False):
        raise Unsupported("batchnorm_backward works from a training-mode cache")
    if x.ndim == 2:
        forward, backward = layers.batchnorm_forward, layers.batchnorm_backward
    elif x.ndim == 4 and has("spatial_batchnorm_forward", "spatial_batchnorm_backward"):
        forward, backward = layers.spatial_batchnorm_forward, layers.spatial_batchnorm_backward
    else:
        raise Unsupported("batchnorm_forward takes (N, D) and spatial_batchnorm_forward (N, C, H, W)")
    c = x.shape[1]
    gamma, beta = inputs.get("weight", np.ones(c)), inputs.get("bias", np.zeros(c))
    # cs231n's momentum weighs the old running statistics (running = momentum * running + (1 - momentum) * batch):
    # PyTorch's momentum m weighs the batch, so it is passed as 1 - m. The updated statistics go back as extras.
    param = {"mode": "train", "eps": a.get("eps", 1e-5), "momentum": 1 - a.get("momentum", 0.1)}
    running = "running_mean" in inputs and "running_var" in inputs
    if running:
        param["running_mean"], param["running_var"] = inputs["running_mean"].copy(), inputs["running_var"].copy()
    out, cache = forward(x, gamma, beta, param)
    extras = {"running_mean": param["running_mean"], "running_var": param["running_var"]} if running and "running_var" in param else {}
    if dy is None:
        return out, None, extras
    dx, dgamma, dbeta = backward(dy, cache)
    grads = {"input": dx}
    if "weight" in inputs:
        grads["weight"], grads["bias"] = dgamma, dbeta
    return out, grads, extras


def cross_entropy(inputs, dy, a):
    x, reduction = inputs["input"], a.get("reduction", "mean")
    if "weight" in inputs or a.get("label_smoothing", 0) != 0 or inputs["target"].shape == x.shape:
        raise Unsupported("softmax_loss takes class indices, without class weights or label smoothing")
    if np.any(inputs["target"] == a.get("ignore_index", -100)):
        raise Unsupported("softmax_loss ignores no target")
    target = inputs["target"].astype(int)
    if x.ndim != 2 or reduction == "none":
        raise Unsupported("softmax_loss takes (N, C) scores and returns their mean loss")
    loss, dx = layers.softmax_loss(x, target)
    scale = x.shape[0] if reduction == "sum" else 1  # the sum is N times the mean
    return np.array(loss * scale), (None if dy is None else {"input": dx * float(dy) * scale})


def run(op, a, inputs, dy):
    x = inputs["input"]
    if op == "max_pool2d":
        return max_pool2d(x, dy, a)
    if op == "conv2d":
        return conv2d(x, inputs["weight"], inputs.get("bias"), dy, a)
    if op == "linear":
        return linear(x, inputs["weight"], inputs.get("bias"), dy)
    if op == "relu":
        out, cache = layers.relu_forward(x)
        return out, (None if dy is None else {"input": layers.relu_backward(dy, cache)})
    if op == "batch_norm":
        return batch_norm(inputs, dy, a)
    return cross_entropy(inputs, dy, a)


def answer(req):
    rid = req.get("id")
    if req.get("type") == "hello":
        return {"id": rid, "protocol": 1, "name": f"cs231n {args.layers}", "dtype": "float64", "ops": OPS}
    if req.get("op") not in OPS:
        return {"id": rid, "unsupported": True, "reason": f"the layers have no {req.get('op')}"}
    inputs = {k: tensor_in(v) for k, v in req["inputs"].items()}
    dy = tensor_in(req["grad_output"]) if req.get("grad_output") is not None else None
    try:
        with np.errstate(all="ignore"):
            result = run(req["op"], req.get("attrs", {}), inputs, dy)
        out, grads, extras = result if len(result) == 3 else (*result, None)
    except Unsupported as e:
        return {"id": rid, "unsupported": True, "reason": str(e)}
    except Exception as e:  # the layers' own error, reported for this case
        return {"id": rid, "error": f"{type(e).__name__}: {e}"}
    missing = [k for k, v in [("output", out)] + list((grads or {}).items()) if v is None]
    if missing:
        return {"id": rid, "error": f"the layers returned None for {', '.join(missing)} (not implemented?)"}
    reply = {"id": rid, "output": tensor_out(out)}
    if dy is not None:
        reply["grads"] = {k: tensor_out(v) for k, v in grads.items()}
    if extras:
        reply["extras"] = {k: tensor_out(np.asarray(v)) for k, v in extras.items()}
    return reply


for line in sys.stdin:
    if line.strip():
        protocol_out.write(json.dumps(answer(json.loads(line))) + "\n")
        protocol_out.flush()
