#!/usr/bin/env bash
# Runs `gradoracle verify` on examples/conventions/impl.py in each of its correct variants (conventions that differ
# from PyTorch on purpose) and each planted bug, over the reference cases and N random cases (default 1000), each
# correct variant once as it is and once with --strict. Prints one row per run: passed / failed / errors / skipped,
# the cases that follow a convention other than PyTorch's, and (under --strict) whether the failures are exactly
# those cases. The table in docs/verification.md comes from it.
#   bash tools/conventions-evidence.sh [random cases] [seed]
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
random="${1:-1000}"
seed="${2:-1}"
dotnet build "$here/src/GradOracle.Cli" --verbosity quiet >/dev/null || exit 1
cli="$here/src/GradOracle.Cli/bin/Debug/net10.0/GradOracle.Cli.dll"
impl="/usr/bin/python3 $here/examples/conventions/impl.py"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

run() { dotnet "$cli" verify --impl "$impl $1" --seed "$seed" --random "$random" --json $2 > "$tmp/out.json" 2>/dev/null; }

count() {
  /usr/bin/python3 - "$tmp/out.json" "$tmp/lenient.json" "$1" <<'PY'
import json, sys, collections
r = json.load(open(sys.argv[1]))
st = collections.Counter(c["status"] for c in r["cases"])
conv = {c["id"] for c in r["cases"] if c["conventions"]}
line = f'{st["pass"]} passed, {st["fail"]} failed, {st["error"]} errors, {st["skipped"]} skipped; {len(conv)} with conventions'
if sys.argv[3] == "strict":
    lenient = json.load(open(sys.argv[2]))
    differing = {c["id"] for c in lenient["cases"] if c["conventions"]}
    failed = {c["id"] for c in r["cases"] if c["status"] in ("fail", "error")}
    line += f'; fails exactly the {len(differing)} differing: {failed == differing}'
print(line)
PY
}

echo "verify over the reference cases and $random random cases (seed $seed)"
for variant in "" "--ties last" "--ties split" "--nan first" "--nan split" "--nan none" "--nan ignore" "--relu-at-zero 1" "--relu-at-zero 0.5" \
               "--leaky-at-zero 1" "--dtype float32" "--ties split --nan first --relu-at-zero 1 --dtype float32" "--declare --ties last --nan ignore"; do
  # Declared choices are the expected rule, so the cases that differ from PyTorch are those of the same choices undeclared.
  run "${variant#--declare }" ""; cp "$tmp/out.json" "$tmp/lenient.json"
  [ "$variant" = "${variant#--declare }" ] || run "$variant" ""
  label="${variant:-(PyTorch choices)}"
  printf '%-62s %s\n' "$label" "$(count lenient)"
  run "$variant" "--strict"
  printf '%-62s %s\n' "  --strict" "$(count strict)"
done
for bug in all-ties overwrite out-size keepdims pad-slice float32-as-64; do
  run "--bug $bug" ""
  printf '%-62s %s\n' "--bug $bug" "$(count lenient)"
done
