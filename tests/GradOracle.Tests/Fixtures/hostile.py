#!/usr/bin/env python3
"""Hostile implementations for verify's robustness tests: relu and sigmoid, right in float64, except as --mode
says. Modes that misbehave only on forward-only requests (the finite-difference passes of verify's self-check)
answer each case's first request correctly, so only a check of those passes can catch them:
every7th (crashes on every 7th request), hang-fd, dupid-fd (repeats the previous id), reorder-fd (answers two
requests in swapped order), shape-fd (a flattened output), error-fd; hugeshape (a reply of shape [1e6, 1e6]);
hello-protocol-string, hello-ops-numbers (malformed hellos); stdout-log (prints a log line before its first
reply); ansi (errors with terminal escapes); slow (sleeps --delay seconds before each answer). Pure Python."""
import json, math, os, select, sys, time

args = sys.argv[1:]
mode = args[args.index("--mode") + 1]
delay = float(args[args.index("--delay") + 1]) if "--delay" in args else 0.0
count = 0
last_id = None
pending = b""


def send(obj):
    print(json.dumps(obj), flush=True)


def next_line(wait):
    """The next request line, or None when none arrives within wait seconds (None forever: block); b"" at the end."""
    global pending
    while b"\n" not in pending:
        if wait is not None and not select.select([0], [], [], wait)[0]:
            return None
        chunk = os.read(0, 65536)
        if not chunk:
            return b""
        pending += chunk
    line, pending = pending.split(b"\n", 1)
    return line


def answer(req):
    global count, last_id
    rid = req["id"]
    if req["type"] == "hello":
        hello = {"id": rid, "protocol": 1, "name": f"hostile-{mode}", "dtype": "float64", "ops": ["relu", "sigmoid"]}
        if mode == "hello-protocol-string":
            hello["protocol"] = "1"
        if mode == "hello-ops-numbers":
            hello["ops"] = [1, 2]
        send(hello)
        return
    count += 1
    fd = req.get("grad_output") is None
    if mode == "slow":
        time.sleep(delay)
    if mode == "every7th" and count % 7 == 0:
        sys.exit(134)
    if mode == "hang-fd" and fd:
        time.sleep(600)
    x = req["inputs"]["input"]
    dy = req.get("grad_output")
    if req["op"] == "relu":
        y = [v if v > 0 else 0.0 for v in x["data"]]
        d = [1.0 if v > 0 else 0.0 for v in x["data"]]
    else:
        y = [1 / (1 + math.exp(-v)) for v in x["data"]]
        d = [s * (1 - s) for s in y]
    shape = x["shape"]
    if mode == "shape-fd" and fd:
        shape = [len(y)]
    if mode == "hugeshape":
        shape = [1000000, 1000000]
    reply = {"id": rid, "output": {"shape": shape, "data": y}}
    if dy:
        reply["grads"] = {"input": {"shape": shape, "data": [g * e for g, e in zip(dy["data"], d)]}}
    if mode == "error-fd" and fd:
        reply = {"id": rid, "error": "out of memory (simulated)"}
    if mode == "ansi":
        reply = {"id": rid, "error": "\u001b[31mred\u001b[0m \u001b]0;title\u0007 failure"}
    if mode == "stdout-log" and count == 1:
        print("loading weights from cache...", flush=True)
    if mode == "dupid-fd" and fd and last_id is not None:
        reply["id"] = last_id
    last_id = rid
    if mode == "reorder-fd" and fd:
        # Answers a pipelined request that is already waiting before this one.
        later = next_line(0.3)
        if later:
            answer(json.loads(later))
    send(reply)


while (line := next_line(None)):
    answer(json.loads(line))
