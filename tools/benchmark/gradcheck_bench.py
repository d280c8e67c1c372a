#!/usr/bin/env python3
"""torch.autograd.gradcheck's side of GradOracle's benchmark (tools/benchmark.sh): float64, eps 1e-6,
slow mode (full Jacobians) and, where asked, fast_mode, timed in-process after a warm-up, median of
several runs (0 slow-mode runs: fast_mode only). Prints one JSON object per configuration. Run with Debian's /usr/bin/python3 (python3-torch)."""
import json, resource, statistics, sys, time
import torch
import torch.nn.functional as F

torch.manual_seed(0)
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
N, C, S = 2, 8, 32

def t(*shape):
    return torch.rand(*shape, dtype=torch.float64, requires_grad=True)

def configs():
    x = lambda: t(N, C, S, S)
    yield "max_pool2d", "k3 s2 p1", lambda: ((lambda a: F.max_pool2d(a, 3, 2, 1)), (x(),)), True
    yield "avg_pool2d", "k3 s2 p1", lambda: ((lambda a: F.avg_pool2d(a, 3, 2, 1)), (x(),)), True
    yield "conv2d", "8->8 3x3 p1 bias", lambda: ((lambda a, w, b: F.conv2d(a, w, b, padding=1)), (x(), t(C, C, 3, 3), t(C))), True
    yield "batch_norm", "training", lambda: ((lambda a, w, b: F.batch_norm(a, None, None, w, b, training=True)), (x(), t(C), t(C))), True
    yield "linear", "(64, 256) -> 64 bias", lambda: ((lambda a, w, b: F.linear(a, w, b)), (t(64, 256), t(64, 256), t(64))), True

def timed(fn, inputs, fast):
    start = time.perf_counter()
    ok = True
    try:
        torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=fast, raise_exception=True)
    except Exception:
        ok = False  # a tie within eps can fail gradcheck; the time still counts
    return time.perf_counter() - start, ok

only = set(sys.argv[2].split(",")) if len(sys.argv) > 2 else None
# Warm-up: a small check of each kind, so that no first-call cost is timed.
torch.autograd.gradcheck(lambda a: F.max_pool2d(a, 2), (t(1, 1, 4, 4),), eps=1e-6)
torch.autograd.gradcheck(lambda a: F.conv2d(a, torch.ones(1, 1, 2, 2, dtype=torch.float64)), (t(1, 1, 4, 4),), eps=1e-6, fast_mode=True)
for name, desc, make, fast in configs():
    if only and name not in only:
        continue
    fn, inputs = make()
    elements = sum(i.numel() for i in inputs)
    slow = [timed(fn, inputs, False) for _ in range(RUNS)]  # RUNS = 0: fast_mode only
    row = {"layer": name, "config": desc, "elements": elements, "slow_s": statistics.median(s for s, _ in slow) if slow else None,
           "slow_runs": RUNS, "slow_passed": all(ok for _, ok in slow)}
    if fast:
        timed(fn, inputs, True)  # warm-up on this configuration, as GradOracle's side does
        fastt = [timed(fn, inputs, True) for _ in range(max(RUNS, 5))]
        row["fast_s"] = statistics.median(s for s, _ in fastt)
    row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(row), flush=True)
