#!/usr/bin/env bash
# Benchmark: GradOracle's full element-by-element check against torch.autograd.gradcheck (slow mode, and
# fast_mode on convolution), side by side in one run, on the layers of issue 7. Installs Debian's
# python3-torch if missing. Prints gradcheck's and GradOracle's raw rows, then the table (last).
# Usage: bash tools/benchmark.sh [gradcheck runs, default 3] [GradOracle runs, default 5]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
/usr/bin/python3 -c "import torch" >/dev/null 2>&1 || bash "$here/tools/apt-install.sh" python3-torch
dotnet build "$here/tools/benchmark" -c Release --verbosity quiet >/dev/null
out="$(mktemp -d)"
echo "gradcheck (torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')), ${1:-3} run(s) per row:"
/usr/bin/python3 "$here/tools/benchmark/gradcheck_bench.py" "${1:-3}" | tee "$out/gradcheck.jsonl"
echo "GradOracle, ${2:-5} run(s) per row:"
dotnet "$here/tools/benchmark/bin/Release/net10.0/Benchmark.dll" "${2:-5}" "$out/gradcheck.jsonl"
