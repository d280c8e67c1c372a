#!/usr/bin/env bash
# Reads the TRX files of a `dotnet test` run under $1 and prints `N passed, N failed[, N skipped]`.
# Exits 1 when there is no TRX file (no test ran). Plain bash: a new machine may have no python.
set -uo pipefail
passed=0 failed=0 skipped=0 files=0
counter() { grep -o "<Counters [^>]*" "$2" | grep -o " $1=\"[0-9]*\"" | grep -o "[0-9]*" || echo 0; }
while IFS= read -r -d '' trx; do
  files=$((files + 1))
  passed=$((passed + $(counter passed "$trx")))
  for c in failed error timeout aborted; do failed=$((failed + $(counter $c "$trx"))); done
  for c in notExecuted inconclusive; do skipped=$((skipped + $(counter $c "$trx"))); done
done < <(find "$1" -name '*.trx' -print0 2>/dev/null)
line="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo "$line"
[ "$files" -gt 0 ]
