#!/usr/bin/env bash
# One conv2d case at size, (32, 64, 56, 56) -> 64, 3x3, padding 1, verified end to end against the libtorch
# engine over the protocol (base64 tensors): wall time and the verify process's peak resident memory, with
# finite differences off and with the default (a projection screen at size). Usage: tools/at-size-benchmark.sh
set -euo pipefail
[ -x /usr/bin/time ] || { echo "at-size-benchmark: needs GNU time (apt-get install time)" >&2; exit 1; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
dotnet build "$here/src/GradOracle.Cli" -c Release -o "$out/cli" --verbosity quiet >/dev/null
cat > "$out/sweep.json" <<'JSON'
{"sweeps": [{"op": "conv2d", "attributes": {"padding": [1]}, "shapes": [{"input": [32, 64, 56, 56], "weight": [64, 64, 3, 3], "bias": [64]}]}]}
JSON
g="dotnet $out/cli/GradOracle.Cli.dll"
limits="--max-elements 16777216 --max-line-mb 256"
for fd in none all; do
  /usr/bin/time -f "%e %M" -o "$out/time" $g verify --impl "$g serve --engine libtorch $limits" $limits --timeout 600 \
    --sweep "$out/sweep.json" --no-reference --random 0 --seed 1 --fd "$fd" > "$out/report" 2>&1 || true
  read -r seconds kb < "$out/time"
  echo "--fd $fd: $(tail -1 "$out/report"); ${seconds} s, peak resident memory $((kb / 1024)) MiB"
done
