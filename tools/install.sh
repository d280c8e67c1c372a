#!/usr/bin/env bash
# Installs the end-to-end tests' optional tools and restores GradOracle's packages (libtorch 2.10 comes with
# the TorchSharp-cpu package, so nothing native is installed by hand). Idempotent: safe to run again.
# `--no-test-tools` skips python3-numpy and chromium: the tests that need them then skip, saying so.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if ! command -v dotnet >/dev/null 2>&1; then
  echo "install: the .NET SDK (10.0) is required and not on PATH; see https://dot.net" >&2
  exit 1
fi

if [ "${1:-}" != "--no-test-tools" ]; then
  bash "$here/tools/install-test-tools.sh"
fi

echo "install: restoring NuGet packages (TorchSharp-cpu brings libtorch 2.10.0)"
dotnet restore "$here/GradOracle.sln" --verbosity quiet
echo "install: done"
