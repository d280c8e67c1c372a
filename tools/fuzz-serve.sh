#!/usr/bin/env bash
# A longer run of serve's hostile corpus than CI's 2,500 lines: bash tools/fuzz-serve.sh [LINES] [SEEDS]
# Each seed is a separate corpus; the figures go to docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-100000}
seeds=${2:-1}
for ((s = 1; s <= seeds; s++)); do
  GRADORACLE_FUZZ_LINES=$lines GRADORACLE_FUZZ_SEED=$((1000 + s)) dotnet test tests/GradOracle.Tests \
    --filter "FullyQualifiedName~Protocol.ServerTests.Every_line_of_a_hostile_corpus" --logger "console;verbosity=detailed" 2>&1 \
    | grep -E "lines:|Passed|Failed|Error Message" | head -5
done
