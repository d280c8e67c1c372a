#!/usr/bin/env bash
# Installs what the end-to-end tests use beyond libtorch: Debian's python3-numpy (the example NumPy
# implementation runs on /usr/bin/python3) and chromium (the HTML report is rendered headless).
# Idempotent: installs only what is missing.
set -euo pipefail
missing=()
/usr/bin/python3 -c "import numpy" >/dev/null 2>&1 || missing+=(python3-numpy)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-test-tools: installing ${missing[*]} from Debian"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "install-test-tools: $(/usr/bin/python3 -c 'import numpy; print("numpy", numpy.__version__)'), $(chromium --version 2>/dev/null | head -1)"
