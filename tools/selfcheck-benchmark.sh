#!/usr/bin/env bash
# Benchmark: the finite-difference self-check of `gradoracle verify` on a float64 implementation, one request
# per forward pass (as before batching) against pipelined batches, side by side in one run on the same cases
# (tools/selfcheck-benchmark/Program.cs). Runs `gradoracle serve` and, when Debian's python3-numpy is there,
# the NumPy example. Usage: bash tools/selfcheck-benchmark.sh [seed, default 3] [random cases, default 150]
# [max elements, default 2048] [runs per case, default 3]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dotnet build "$here/src/GradOracle.Cli" -c Release --verbosity quiet >/dev/null
dotnet build "$here/tools/selfcheck-benchmark" -c Release --verbosity quiet >/dev/null
bench="$here/tools/selfcheck-benchmark/bin/Release/net10.0/SelfcheckBenchmark.dll"
args=("${1:-3}" "${2:-150}" "${3:-2048}" "${4:-3}")
dotnet "$bench" "dotnet $here/src/GradOracle.Cli/bin/Release/net10.0/GradOracle.Cli.dll serve" "${args[@]}"
echo
if /usr/bin/python3 -c "import numpy" >/dev/null 2>&1; then
  dotnet "$bench" "/usr/bin/python3 $here/examples/numpy/impl.py" "${args[@]}"
else
  echo "(NumPy example skipped: Debian's python3-numpy is not installed)"
fi
