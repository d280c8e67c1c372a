#!/usr/bin/env bash
# Benchmark: the oracle's fast float64 layers (forward + backward, every gradient) against libtorch's through TorchSharp,
# in one process on the same cores (libtorch set to as many threads as there are cores), in alternating rounds;
# prints each row as it goes, then a markdown table of medians and oracle/libtorch ratios (tools/speed-benchmark/Program.cs).
# Usage: bash tools/speed-benchmark.sh [rounds, default 7] [row name filter, e.g. conv2d]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dotnet build "$here/tools/speed-benchmark" -c Release --verbosity quiet >/dev/null
dotnet "$here/tools/speed-benchmark/bin/Release/net10.0/SpeedBenchmark.dll" "$@"
