"""GradOracle's protocol v1 (docs/protocol.md) for layers written in Python: vendor this one file.

    from gradoracle_adapter import Adapter, Unsupported
    adapter = Adapter("my-layers", dtype="float64")   # before importing your layers: it guards stdout

    @adapter.op("relu")
    def relu(inputs, attrs, grad_output):
        x = inputs["input"]
        y = x * (x > 0)
        return y, None if grad_output is None else {"input": grad_output * (x > 0)}

    adapter.serve()

An op function takes the inputs by name, the attributes (every one the op has, with its value) and
grad_output (None for a forward-only request), and returns (output, grads): grads a dict by input name,
or None when grad_output is None. Tensors arrive as float64 numpy arrays (a Tensor(shape, data) of flat
lists when numpy is not installed) and may be returned as numpy arrays, Tensors, nested lists or numbers
(a 0-d output, such as a reduced loss, is a plain number). An op with results besides its output (batch_norm's
updated running statistics in training) may return (output, grads, extras), extras a dict by name. Raise Unsupported("why") for a configuration you
do not implement; any other exception becomes an error reply for that case and the run goes on.

The helper answers hello, writes NaN and infinities as the strings the protocol wants (Python's json would
write bare NaN), keeps -0.0, flushes every reply, and sends anything your code prints to stderr, where
GradOracle records it, so that no stray print corrupts the stream. When GradOracle offers it, tensors travel
as little-endian base64 both ways (several times faster for big tensors); Adapter(..., encoding="json") keeps
JSON numbers. No dependency beyond the standard library.
"""
import array
import base64
import json
import math
import struct
import sys
import traceback
from collections import namedtuple

try:
    import numpy as _np
except ImportError:  # numpy is optional
    _np = None

__all__ = ["Adapter", "Unsupported", "Tensor"]

PROTOCOL = 1

Tensor = namedtuple("Tensor", ["shape", "data"])
Tensor.__doc__ = "A row-major tensor without numpy: shape a list of ints, data a flat list of floats."

_SPECIAL_IN = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class Unsupported(Exception):
    """Raised by an op function for a configuration it does not implement; the reason reaches the report."""


_NUMPY_DTYPES = {"float64": "<f8", "float32": "<f4", "float16": "<f2", "int64": "<i8"}
_ARRAY_CODES = {"float64": "d", "float32": "f", "int64": "q"}


def _from_bytes(raw, dtype):
    """The elements of a base64 tensor's bytes as a float64 numpy array, or a list without numpy."""
    if _np is not None:
        if dtype == "bfloat16":  # float32's upper half
            return (_np.frombuffer(raw, dtype="<u2").astype(_np.uint32) << 16).view(_np.float32).astype(_np.float64)
        return _np.frombuffer(raw, dtype=_NUMPY_DTYPES[dtype]).astype(_np.float64)
    if dtype in _ARRAY_CODES:
        a = array.array(_ARRAY_CODES[dtype], raw)
        if sys.byteorder == "big":
            a.byteswap()
        return [float(v) for v in a]
    if dtype == "float16":
        return [v for (v,) in struct.iter_unpack("<e", raw)]
    return [struct.unpack("<f", struct.pack("<I", h << 16))[0] for (h,) in struct.iter_unpack("<H", raw)]


def _decode(t):
    if "base64" in t:
        data = _from_bytes(base64.b64decode(t["base64"]), t["dtype"])
    else:
        data = [_SPECIAL_IN[v] if isinstance(v, str) else float(v) for v in t["data"]]
    if _np is None:
        return Tensor(list(t["shape"]), list(data))
    return _np.asarray(data, dtype=_np.float64).reshape(t["shape"])


def _number(v):
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def _flatten(value, shape):
    if isinstance(value, (list, tuple)):
        shape.append(len(value))
        flat = []
        for i, item in enumerate(value):
            inner = []
            flat.extend(_flatten(item, inner))
            if i == 0:
                shape.extend(inner)
        return flat
    return [value]


def _encode(value, what, binary=False):
    if isinstance(value, Tensor):
        shape, data = list(value.shape), list(value.data)
    elif _np is not None and isinstance(value, (_np.ndarray, _np.generic)):
        a = _np.asarray(value, dtype=_np.float64)
        if binary:
            return {"shape": list(a.shape), "dtype": "float64", "base64": base64.b64encode(a.astype("<f8").tobytes()).decode("ascii")}
        shape, data = list(a.shape), a.reshape(-1).tolist()
    elif hasattr(value, "detach") and hasattr(value, "tolist"):  # a torch tensor, without importing torch
        return _encode(value.detach().cpu().double().tolist(), what, binary)
    elif isinstance(value, (list, tuple, int, float)) and not isinstance(value, bool):
        shape = []
        data = _flatten(value, shape)
    else:
        raise TypeError(f"{what}: cannot send a {type(value).__name__} as a tensor (return a numpy array, a Tensor, a list or a number)")
    count = 1
    for d in shape:
        count *= d
    if count != len(data):
        raise ValueError(f"{what}: shape {shape} needs {count} values, got {len(data)} (a ragged list?)")
    if binary:
        a = array.array("d", [float(v) for v in data])
        if sys.byteorder == "big":
            a.byteswap()
        return {"shape": shape, "dtype": "float64", "base64": base64.b64encode(a.tobytes()).decode("ascii")}
    return {"shape": shape, "data": [_number(v) for v in data]}


class Adapter:
    """Registers op functions by their torch.nn.functional name and answers GradOracle's requests."""

    def __init__(self, name, dtype="float64", conventions=None, encoding="auto"):
        if encoding not in ("auto", "json"):
            raise ValueError(f"encoding={encoding!r}: must be 'auto' (base64 when GradOracle offers it) or 'json'")
        self.name = name
        self.dtype = dtype
        self.conventions = dict(conventions or {})
        self.encoding = encoding
        self._binary = False
        self.ops = {}
        # From here on a print (in the layers, or while they are imported) goes to stderr, never into the replies.
        self._out = sys.stdout
        sys.stdout = sys.stderr

    def op(self, name):
        """Decorator: @adapter.op("max_pool2d") registers the function for that op."""
        def register(fn):
            self.ops[name] = fn
            return fn
        return register

    def answer(self, line):
        """The reply (a dict) to one request line; never raises."""
        rid = None
        try:
            request = json.loads(line)
            rid = request.get("id")
            if request.get("type") == "hello":
                reply = {"id": rid, "protocol": PROTOCOL, "name": self.name, "dtype": self.dtype, "ops": sorted(self.ops)}
                if self.conventions:
                    reply["conventions"] = self.conventions
                self._binary = self.encoding == "auto" and "base64" in (request.get("encodings") or [])
                if self._binary:
                    reply["encoding"] = "base64"
                return reply
            if request.get("type") != "run":
                return {"id": rid, "error": f"unknown request type {request.get('type')!r}"}
            fn = self.ops.get(request["op"])
            if fn is None:
                return {"id": rid, "unsupported": True, "reason": f"{request['op']} is not registered with this adapter"}
            inputs = {k: _decode(v) for k, v in request["inputs"].items()}
            dy = request.get("grad_output")
            result = fn(inputs, request.get("attrs") or {}, None if dy is None else _decode(dy))
            if not isinstance(result, tuple) or len(result) not in (2, 3):
                raise TypeError(f"{request['op']}: an op function returns (output, grads) or (output, grads, extras), got {type(result).__name__}")
            output, grads = result[:2]
            extras = result[2] if len(result) == 3 else None
            reply = {"id": rid, "output": _encode(output, "output", self._binary)}
            if extras:
                reply["extras"] = {k: _encode(v, f"extras.{k}", self._binary) for k, v in extras.items()}
            if dy is not None:
                if not isinstance(grads, dict):
                    raise TypeError(f"{request['op']}: grad_output was sent, so grads must be a dict by input name, got {type(grads).__name__}")
                reply["grads"] = {k: _encode(v, f"grads.{k}", self._binary) for k, v in grads.items()}
            return reply
        except Unsupported as e:
            return {"id": rid, "unsupported": True, "reason": str(e) or "unsupported"}
        except Exception as e:  # the case's error, reported; the run goes on
            where = traceback.extract_tb(e.__traceback__)[-1]
            return {"id": rid, "error": f"{type(e).__name__}: {e} (at {where.filename}:{where.lineno})"}

    def serve(self, stdin=None, stdout=None):
        """Reads requests until stdin closes; replies go to the real stdout (flushed each), prints to stderr."""
        stdin = stdin or sys.stdin
        out = stdout or self._out
        for line in stdin:
            if line.strip():
                out.write(json.dumps(self.answer(line), allow_nan=False) + "\n")
                out.flush()
