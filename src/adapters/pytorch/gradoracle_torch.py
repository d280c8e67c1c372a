#!/usr/bin/env python3
"""GradOracle's protocol for PyTorch code: check your own functions (a custom CUDA or C++ extension, a
torch.autograd.Function wrapped in a def) under torch.nn.functional's names, or torch.nn.functional itself.

    python3 gradoracle_torch.py --module my_ops.py [--device cuda] [--dtype float32]
    python3 gradoracle_torch.py --functional            # torch.nn.functional itself, as a baseline

--module imports the file and checks every function in it named like a GradOracle op (max_pool2d,
conv2d, linear, batch_norm, ...), called as torch.nn.functional's would be: input first, then the op's
tensors, then its attributes as keyword arguments. Gradients come from autograd (your backward).
Built on the Python helper (../python/gradoracle_adapter.py), which owns the protocol.
"""
import argparse
import importlib.util
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from gradoracle_adapter import Adapter, Unsupported  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# Per op: the tensors passed positionally in torch.nn.functional's order (None: absent), and the attributes it
# takes as keywords. GradOracle's own attributes (tie_policy, nan_rule) are not passed: the hello declares
# PyTorch's choices, so verify holds every case to them.
POOL = {"kernel_size", "stride", "padding", "dilation", "ceil_mode"}
OPS = {}
for r in (1, 2, 3):
    OPS[f"max_pool{r}d"] = (["input"], POOL)
    OPS[f"avg_pool{r}d"] = (["input"], {"kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"} | ({"divisor_override"} if r > 1 else set()))
    OPS[f"adaptive_max_pool{r}d"] = (["input"], {"output_size"})
    OPS[f"adaptive_avg_pool{r}d"] = (["input"], {"output_size"})
    OPS[f"conv{r}d"] = (["input", "weight", "bias"], {"stride", "padding", "dilation", "groups"})
    OPS[f"max_unpool{r}d"] = (["input", "indices"], {"kernel_size", "stride", "padding", "output_size"})
    OPS[f"conv_transpose{r}d"] = (["input", "weight", "bias"], {"stride", "padding", "output_padding", "groups", "dilation"})
    OPS[f"global_max_pool{r}d"] = (["input"], set())
    OPS[f"global_avg_pool{r}d"] = (["input"], set())
OPS.update({
    "linear": (["input", "weight", "bias"], set()),
    "relu": (["input"], set()), "sigmoid": (["input"], set()), "tanh": (["input"], set()),
    "leaky_relu": (["input"], {"negative_slope"}), "gelu": (["input"], {"approximate"}), "silu": (["input"], set()), "mish": (["input"], set()),
    "hardtanh": (["input"], {"min_val", "max_val"}), "relu6": (["input"], set()), "hardsigmoid": (["input"], set()),
    "hardswish": (["input"], set()), "elu": (["input"], {"alpha"}), "selu": (["input"], set()), "celu": (["input"], {"alpha"}),
    "softplus": (["input"], {"beta", "threshold"}), "prelu": (["input", "weight"], set()),
    "pixel_shuffle": (["input"], {"upscale_factor"}), "pixel_unshuffle": (["input"], {"downscale_factor"}),
    "softmax": (["input"], {"dim"}), "log_softmax": (["input"], {"dim"}),
    "cross_entropy": (["input", "target", "weight"], {"reduction", "ignore_index", "label_smoothing"}), "mse_loss": (["input", "target"], {"reduction"}),
    "batch_norm": (["input", "running_mean", "running_var", "weight", "bias"], {"training", "eps", "momentum"}),
    "flatten": (["input"], {"start_dim", "end_dim"}),
    "layer_norm": (["input", "weight", "bias"], {"normalized_shape", "eps"}),
    "binary_cross_entropy": (["input", "target", "weight"], {"reduction"}),
    "binary_cross_entropy_with_logits": (["input", "target", "weight", "pos_weight"], {"reduction"}),
    "kl_div": (["input", "target"], {"reduction", "log_target"}),
    "nll_loss": (["input", "target", "weight"], {"ignore_index", "reduction"}),
    "l1_loss": (["input", "target"], {"reduction"}), "smooth_l1_loss": (["input", "target"], {"reduction", "beta"}),
    "huber_loss": (["input", "target"], {"reduction", "delta"}), "pad": (["input"], {"pad", "mode", "value"}),
    "embedding": (["input", "weight"], {"padding_idx"}), "local_response_norm": (["input"], {"size", "alpha", "beta", "k"}),
    "group_norm": (["input", "weight", "bias"], {"num_groups", "eps"}), "instance_norm": (["input", "weight", "bias"], {"eps"}),
})
OPS["interpolate"] = (["input"], {"size", "scale_factor", "mode", "align_corners", "recompute_scale_factor"})
# lp_pool3d came with torch 2.2.
OPS.update({f"lp_pool{r}d": (["input"], {"norm_type", "kernel_size", "stride", "ceil_mode"}) for r in (1, 2, 3) if hasattr(F, f"lp_pool{r}d")})
GRADORACLE_ONLY = {"tie_policy", "nan_rule"}
# Inputs that are indices (class indices, embedding rows); every other loss's target is differentiable.
INDICES = {("cross_entropy", "target"), ("nll_loss", "target"), ("embedding", "input")} | {(f"max_unpool{r}d", "indices") for r in (1, 2, 3)}
CONSTANTS = {"running_mean", "running_var", "pos_weight"}  # inputs no gradient is asked for, nor a loss's weight:
LOSSES = {"binary_cross_entropy", "binary_cross_entropy_with_logits", "nll_loss", "cross_entropy"}


def probabilities(name, inputs):
    """torch's rule: cross_entropy's target shaped like the input holds class probabilities (a constant here)."""
    return name == "cross_entropy" and inputs["target"].shape == inputs["input"].shape


def functional(name):
    """torch.nn.functional's own function for an op name."""
    if name == "flatten":
        return torch.flatten
    if name.startswith("global_"):  # GradOracle's name for adaptive pooling to size 1
        adaptive = getattr(F, name.replace("global_", "adaptive_"))
        return lambda x: adaptive(x, 1)
    if name in ("sigmoid", "tanh"):
        return getattr(torch, name)
    # The normalisations take an attribute before their tensors: called here with the tensors first.
    if name == "binary_cross_entropy_with_logits":
        return lambda x, t, w, pw, reduction="mean": F.binary_cross_entropy_with_logits(x, t, w, reduction=reduction, pos_weight=pw)
    if name == "interpolate":  # one size or factor stands for every spatial dimension, as torch takes a bare number
        return lambda x, size=None, scale_factor=None, **kw: F.interpolate(
            x, size[0] if size and len(size) == 1 else size, scale_factor[0] if scale_factor and len(scale_factor) == 1 else scale_factor, **kw)
    if name == "lp_pool1d":  # its kernel_size multiplies the output, so it must be an int, not a 1-tuple
        return lambda x, norm_type, kernel_size, stride=None, ceil_mode=False: F.lp_pool1d(
            x, norm_type, kernel_size[0], stride and stride[0], ceil_mode)
    if name == "layer_norm":
        return lambda x, w, b, normalized_shape, eps=1e-5: F.layer_norm(x, normalized_shape, w, b, eps)
    if name == "group_norm":
        return lambda x, w, b, num_groups, eps=1e-5: F.group_norm(x, num_groups, w, b, eps)
    if name == "instance_norm":
        return lambda x, w, b, eps=1e-5: F.instance_norm(x, weight=w, bias=b, eps=eps)
    return getattr(F, name)


def wrap(name, fn, device, dtype):
    """An op function for the helper: tensors to torch on the device, the call, autograd for the gradients."""
    tensors, keywords = OPS[name]

    def run(inputs, attrs, dy):
        unknown = set(attrs) - keywords - GRADORACLE_ONLY
        if unknown:
            raise Unsupported(f"{name} here takes no {', '.join(sorted(unknown))}")
        args, leaves = [], {}
        for t in tensors:
            if t not in inputs:
                args.append(None)
                continue
            if (name, t) in INDICES and not probabilities(name, inputs):
                args.append(torch.as_tensor(inputs[t], device=device).long())
                continue
            value = torch.as_tensor(inputs[t], dtype=dtype, device=device)
            if t in CONSTANTS or t == "weight" and name in LOSSES or t == "target" and probabilities(name, inputs):
                args.append(value.clone())  # training updates running statistics in place; the request's copy stays
                continue
            leaves[t] = value.requires_grad_(dy is not None)
            args.append(leaves[t])
        kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in attrs.items() if k in keywords}
        out = fn(*args, **kwargs)
        # batch_norm in training has updated its (cloned) running statistics in place: sent back as extras.
        extras = {t: args[tensors.index(t)].detach().cpu().double().numpy() for t in ("running_mean", "running_var")
                  if name == "batch_norm" and attrs.get("training") and t in inputs}
        if dy is None:
            return out.detach().cpu().double().numpy(), None, extras
        grads = torch.autograd.grad(out, list(leaves.values()), torch.as_tensor(dy, dtype=dtype, device=device), allow_unused=True)
        return out.detach().cpu().double().numpy(), {
            n: (g if g is not None else torch.zeros_like(leaves[n])).detach().cpu().double().numpy() for n, g in zip(leaves, grads)}, extras

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--module", help="a Python file whose functions named like ops are checked")
    which.add_argument("--functional", action="store_true", help="check torch.nn.functional itself")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32", "float16", "bfloat16"])
    a = parser.parse_args()
    dtype = getattr(torch, a.dtype)
    adapter = Adapter(f"pytorch {torch.__version__} {a.device} {'torch.nn.functional' if a.functional else os.path.basename(a.module)}",
                      dtype=a.dtype, conventions={"tie_policy": "first", "nan_rule": "propagate", "relu_at_zero": 0, "leaky_relu_at_zero": "negative_slope"})
    if a.functional:
        functions = {name: functional(name) for name in OPS}
    else:
        spec = importlib.util.spec_from_file_location("ops_under_test", a.module)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        functions = {name: getattr(module, name) for name in OPS if callable(getattr(module, name, None))}
        if not functions:
            sys.exit(f"{a.module} defines none of the ops by name ({', '.join(sorted(OPS))})")
    for name, fn in functions.items():
        adapter.op(name)(wrap(name, fn, a.device, dtype))
    adapter.serve()


if __name__ == "__main__":
    main()
