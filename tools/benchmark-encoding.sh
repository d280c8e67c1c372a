#!/usr/bin/env bash
# Benchmark: verify's time on a max_pool2d case of 10^6 input elements with its tensors as JSON numbers and as
# base64, against `gradoracle serve` and a NumPy implementation on the Python helper, in alternating rounds.
# Installs Debian's python3-numpy if missing. Prints each run, then the table (last).
# Usage: bash tools/benchmark-encoding.sh [rounds, default 3]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
/usr/bin/python3 -c "import numpy" >/dev/null 2>&1 || bash "$here/tools/apt-install.sh" python3-numpy
dotnet build "$here/src/GradOracle.Cli" -c Release --verbosity quiet >/dev/null
dotnet build "$here/tools/encoding-benchmark" -c Release --verbosity quiet >/dev/null || dotnet build "$here/tools/encoding-benchmark" -c Release
dotnet "$here/tools/encoding-benchmark/bin/Release/net10.0/EncodingBenchmark.dll" "${1:-3}" \
  "$here/src/GradOracle.Cli/bin/Release/net10.0/GradOracle.Cli.dll" "/usr/bin/python3 $here/tools/encoding-benchmark/maxpool_impl.py"
