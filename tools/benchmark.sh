#!/usr/bin/env bash
# Benchmark: GradOracle's full element-by-element check against torch.autograd.gradcheck (slow mode and
# fast_mode), side by side in one run, on the layers of issue 7; then convolution's full check against
# fast_mode in alternating rounds (the two are close, and this shared machine's speed drifts over the
# minutes the slow modes take). Installs Debian's python3-torch if missing. Prints gradcheck's and
# GradOracle's raw rows, then the tables (last).
# Usage: bash tools/benchmark.sh [gradcheck runs, default 3] [GradOracle runs, default 5] [rounds, default 3]
#        bash tools/benchmark.sh 0 [GradOracle runs] [rounds]: the alternating conv2d rounds only (no slow mode).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
/usr/bin/python3 -c "import torch" >/dev/null 2>&1 || bash "$here/tools/apt-install.sh" python3-torch
dotnet build "$here/tools/benchmark" -c Release --verbosity quiet >/dev/null
bench="$here/tools/benchmark/bin/Release/net10.0/Benchmark.dll"
out="$(mktemp -d)"
if [ "${1:-3}" != 0 ]; then
echo "gradcheck (torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')), ${1:-3} run(s) per row:"
/usr/bin/python3 "$here/tools/benchmark/gradcheck_bench.py" "${1:-3}" | tee "$out/gradcheck.jsonl"
echo "GradOracle, ${2:-5} run(s) per row:"
dotnet "$bench" "${2:-5}" "$out/gradcheck.jsonl" | tee "$out/ours.txt"
fi

echo "conv2d, alternating rounds: gradcheck fast_mode (median of 5), then GradOracle's full check (median of ${2:-5}):"
for round in $(seq "${3:-3}"); do
  /usr/bin/python3 "$here/tools/benchmark/gradcheck_bench.py" 0 conv2d | tee -a "$out/rounds.jsonl"
  dotnet "$bench" "${2:-5}" - conv2d | grep '^{' | tee -a "$out/rounds.jsonl"
done
[ -f "$out/ours.txt" ] && sed -n '/^Side by side/,$p' "$out/ours.txt"
/usr/bin/python3 - "$out/rounds.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
pairs = [(rows[i]["fast_s"], rows[i + 1]["seconds"]) for i in range(0, len(rows) - 1, 2)]
print("conv2d (2,8,32,32) 8->8 3x3 p1 bias, GradOracle's full check against gradcheck's fast_mode, alternating rounds:\n")
print("| round | gradcheck fast_mode | GradOracle full check | full check vs fast_mode |")
print("|---|---|---|---|")
for i, (fast, full) in enumerate(pairs, 1):
    print(f"| {i} | {fast:.4f} s | {full:.4f} s | {full / fast:.2f}x its time |")
ratios = sorted(full / fast for fast, full in pairs)
print(f"\nmedian {ratios[len(ratios) // 2]:.2f}x, range {ratios[0]:.2f}-{ratios[-1]:.2f}x over {len(ratios)} rounds")
PY
