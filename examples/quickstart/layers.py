#!/usr/bin/env python3
"""The README's quick start: relu and linear in NumPy through the Python helper; --bug divides linear's weight gradient by N."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "adapters", "python"))
from gradoracle_adapter import Adapter

adapter = Adapter("numpy-quickstart", dtype="float64")

@adapter.op("relu")
def relu(inputs, attrs, dy):
    x = inputs["input"]
    return x * (x > 0), None if dy is None else {"input": dy * (x > 0)}

@adapter.op("linear")
def linear(inputs, attrs, dy):
    x, w, b = inputs["input"], inputs["weight"], inputs.get("bias")
    y = x @ w.T + (0 if b is None else b)
    if dy is None:
        return y, None
    rows = dy.reshape(-1, w.shape[0])
    grads = {"input": dy @ w, "weight": rows.T @ x.reshape(-1, w.shape[1]) / (len(rows) if "--bug" in sys.argv else 1)}
    return y, grads if b is None else {**grads, "bias": rows.sum(axis=0)}

adapter.serve()
