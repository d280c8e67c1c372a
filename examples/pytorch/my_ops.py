"""A custom torch.autograd.Function for linear, as an extension author writes one, checked by
src/adapters/pytorch/gradoracle_torch.py --module examples/pytorch/my_ops.py; MY_OPS_BUG=1 divides the
weight gradient by the batch size (a mean-loss convention baked into the layer)."""
import os

import torch

DIVIDE = os.environ.get("MY_OPS_BUG") == "1"


class Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        ctx.has_bias = b is not None
        y = x @ w.T
        return y + b if b is not None else y

    @staticmethod
    def backward(ctx, dy):
        x, w = ctx.saved_tensors
        rows = dy.reshape(-1, w.shape[0])
        dw = rows.T @ x.reshape(-1, w.shape[1])
        if DIVIDE:
            dw = dw / rows.shape[0]
        return dy @ w, dw, rows.sum(0) if ctx.has_bias else None


def linear(input, weight, bias=None):
    return Linear.apply(input, weight, bias)
