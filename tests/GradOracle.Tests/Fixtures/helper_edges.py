"""Op functions that exercise the Python helper's edges: prints, special values, 0-d outputs, refusals, errors."""
import os
import sys

sys.path.insert(0, os.environ["GRADORACLE_ADAPTER_DIR"])
from gradoracle_adapter import Adapter, Unsupported, Tensor

adapter = Adapter("helper-edges", dtype=os.environ.get("EDGES_DTYPE", "float64"), conventions={"relu_at_zero": 0},
                  encoding=os.environ.get("EDGES_ENCODING", "auto"))
print("printed while importing the layers: must reach stderr")  # layers imported after the Adapter is made


@adapter.op("relu")
def special(inputs, attrs, dy):
    print("printed inside an op: must reach stderr")
    return Tensor([4], [-0.0, float("nan"), float("inf"), -float("inf")]), None if dy is None else {"input": [[1.0, 2.0], [3.0, 4.0]]}


@adapter.op("gelu")
def doubled(inputs, attrs, dy):
    x = inputs["input"]
    return (Tensor(x.shape, [2 * v for v in x.data]) if isinstance(x, Tensor) else 2 * x), None


@adapter.op("cross_entropy")
def scalar(inputs, attrs, dy):
    return 2.5, None


@adapter.op("conv2d")
def refused(inputs, attrs, dy):
    raise Unsupported("groups > 1 is not implemented")


@adapter.op("linear")
def broken(inputs, attrs, dy):
    return 1 / 0, None


@adapter.op("sigmoid")
def wrong_return(inputs, attrs, dy):
    return [1.0]


adapter.serve()
