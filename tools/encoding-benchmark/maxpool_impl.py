"""max_pool2d with 2x2 windows, stride 2, in NumPy over the Python helper: the encoding benchmark's
implementation (ENCODING=json or auto). First maximum wins a tie, as in PyTorch."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "src", "adapters", "python"))
from gradoracle_adapter import Adapter, Unsupported

import numpy as np

adapter = Adapter("numpy-maxpool-benchmark", dtype="float64", encoding=os.environ.get("ENCODING", "auto"))


@adapter.op("max_pool2d")
def max_pool2d(inputs, attrs, dy):
    if list(attrs["kernel_size"]) != [2, 2] or list(attrs["stride"]) != [2, 2] or any(attrs["padding"]) or attrs["ceil_mode"]:
        raise Unsupported("only 2x2 windows, stride 2, no padding")
    x = inputs["input"]
    n, c, h, w = x.shape
    windows = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    first = windows.argmax(axis=-1)
    out = np.take_along_axis(windows, first[..., None], axis=-1)[..., 0]
    if dy is None:
        return out, None
    g = np.zeros_like(windows)
    np.put_along_axis(g, first[..., None], dy[..., None], axis=-1)
    return out, {"input": g.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h, w)}


adapter.serve()
