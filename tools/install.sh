#!/usr/bin/env bash
# Installs what GradOracle needs beyond the .NET SDK and restores its packages. Idempotent: safe to run
# again; it does nothing that is already done. `--no-torch` skips libtorch, the native bridge and the test
# tools (python3-numpy, chromium): everything else works, and the tests that need them are skipped.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if ! command -v dotnet >/dev/null 2>&1; then
  echo "install: the .NET SDK (10.0) is required and not on PATH; see https://dot.net" >&2
  exit 1
fi

if [ "${1:-}" != "--no-torch" ]; then
  bash "$here/tools/install-torch.sh"
  # The end-to-end tests' tools: python3-numpy for the example implementation, chromium for the report.
  bash "$here/tools/install-test-tools.sh"
fi

echo "install: restoring NuGet packages"
dotnet restore "$here/GradOracle.sln" --verbosity quiet
echo "install: done"
