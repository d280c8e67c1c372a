#!/usr/bin/env python3
"""A deliberately unreliable implementation for GradOracle's robustness tests: relu is right; sigmoid
misbehaves as --mode says (crash, hang, garbage, shape, error, wrongid, silent; crash-fd: crashes
on its 8th forward-only request, amid the finite-difference passes of verify's self-check;
unsupported: answers sigmoid unsupported with a reason). The hello lists relu and sigmoid, or with
misspelled "maxpool2d" and relu, with noops no op at all. Pure Python.

With --fork-worker PIDFILE, in any mode, it first forks a `sleep 300` that holds its stdout and writes
the worker's pid to PIDFILE. Hostile modes: hello-once answers the hello only while --state names no file
(it creates it), and crashes on sigmoid; log prints a log line to stdout before sigmoid's reply; ansi
writes ANSI escapes to stderr and in sigmoid's replies (garbage without grad_output, an error with it);
pydict prints sigmoid's reply as a Python dict; longline writes --chars characters (64 Mi) without a
newline and then sleeps (with --end: a newline, and goes on); deaf stops reading stdin after the hello;
swap answers a forward-only sigmoid after the request that follows it; dup answers sigmoid twice; flood
answers it 50 times."""
import json, math, os, subprocess, sys, time


def arg(name, default=None):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def release(held):
    if held:
        print(held, flush=True)
    return None


mode = arg("--mode")
if mode == "silent":  # never answers the hello
    time.sleep(60)
if arg("--fork-worker"):
    worker = subprocess.Popen(["sleep", "300"])  # inherits stdout and stderr, and holds them open
    with open(arg("--fork-worker") + ".tmp", "w") as f:
        f.write(str(worker.pid))
    os.replace(arg("--fork-worker") + ".tmp", arg("--fork-worker"))
if mode == "hello-once":
    if os.path.exists(arg("--state")):
        time.sleep(60)
    open(arg("--state"), "w").close()
if mode == "ansi":
    print("\x1b[31mred alert\x1b[0m", file=sys.stderr, flush=True)
forwards = 0
held = None  # swap: a sigmoid reply waiting for the next request's
for line in sys.stdin:
    req = json.loads(line)
    rid = req["id"]
    if req["type"] == "hello":
        ops = {"misspelled": ["maxpool2d", "relu"], "noops": []}.get(mode, ["relu", "sigmoid"])
        print(json.dumps({"id": rid, "protocol": 1, "name": f"misbehave-{mode}", "dtype": "float64", "ops": ops}), flush=True)
        if mode == "deaf":
            time.sleep(60)
        continue
    x = req["inputs"]["input"]
    dy = req.get("grad_output")
    if req["op"] == "relu":
        y = [v if v > 0 else 0.0 for v in x["data"]]
        reply = {"id": rid, "output": {"shape": x["shape"], "data": y}}
        if dy:
            reply["grads"] = {"input": {"shape": x["shape"], "data": [g if v > 0 else 0.0 for v, g in zip(x["data"], dy["data"])]}}
        print(json.dumps(reply), flush=True)
        held = release(held)
        continue
    forwards += 0 if dy else 1
    if mode in ("crash", "hello-once") or (mode == "crash-fd" and forwards == 8):
        print("sigmoid: segmentation fault (simulated)", file=sys.stderr, flush=True)
        sys.exit(139)
    if mode == "hang":
        time.sleep(60)
    if mode == "garbage":
        print("this is not json", flush=True)
        continue
    if mode == "longline":
        sys.stdout.write("x" * int(arg("--chars", 64 << 20)) + ("\n" if "--end" in sys.argv else ""))
        sys.stdout.flush()
        if "--end" not in sys.argv:
            time.sleep(60)
        continue
    if mode == "ansi":
        if dy:
            print(json.dumps({"id": rid, "error": "\x1b[2Jscreen cleared"}), flush=True)
        else:
            print("\x1b[31mnot json\x1b[0m", flush=True)
        continue
    if mode == "log":
        print("computing sigmoid", flush=True)
    if mode == "unsupported":
        print(json.dumps({"id": rid, "unsupported": True, "reason": "sigmoid needs float16 inputs"}), flush=True)
        continue
    if mode == "error":
        print(json.dumps({"id": rid, "error": "sigmoid not implemented for this shape"}), flush=True)
        continue
    if mode == "wrongid":
        rid = rid + 1000
    y = [1 / (1 + math.exp(-v)) for v in x["data"]]
    shape = x["shape"] if mode != "shape" else [len(y)]
    reply = {"id": rid, "output": {"shape": shape, "data": y}}
    if dy:
        reply["grads"] = {"input": {"shape": shape, "data": [g * s * (1 - s) for s, g in zip(y, dy["data"])]}}
    if mode == "swap" and not dy and not held:
        held = json.dumps(reply)
        continue
    print(str(reply) if mode == "pydict" else json.dumps(reply), flush=True)
    held = release(held)
    for _ in range({"dup": 1, "flood": 49}.get(mode, 0)):
        print(json.dumps(reply), flush=True)
