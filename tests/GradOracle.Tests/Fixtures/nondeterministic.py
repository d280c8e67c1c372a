"""linear whose weight gradient sums the batch in a random order each call, as threads or atomics do: correct to
rounding, different bit patterns from one answer to the next."""
import os
import random
import sys

sys.path.insert(0, os.environ["GRADORACLE_ADAPTER_DIR"])
from gradoracle_adapter import Adapter
import numpy as np

adapter = Adapter("nondeterministic-linear", dtype="float64")


@adapter.op("linear")
def linear(inputs, attrs, dy):
    x, w, b = inputs["input"], inputs["weight"], inputs.get("bias")
    y = x @ w.T + (0 if b is None else b)
    if dy is None:
        return y, None
    rows, xs = dy.reshape(-1, w.shape[0]), x.reshape(-1, w.shape[1])
    order = list(range(len(rows)))
    random.shuffle(order)
    dw = np.zeros_like(w)
    for n in order:
        dw += np.outer(rows[n], xs[n])
    grads = {"input": dy @ w, "weight": dw}
    return y, grads if b is None else {**grads, "bias": rows.sum(axis=0)}


adapter.serve()
