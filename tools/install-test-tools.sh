#!/usr/bin/env bash
# Installs what the end-to-end tests use: Debian's python3-numpy (the example NumPy
# implementation runs on /usr/bin/python3), python3-torch (the PyTorch adapter's end-to-end test), g++ and
# nlohmann-json3-dev (the C++ adapter's) and chromium (the HTML report is rendered headless).
# Idempotent: installs only what is missing.
set -euo pipefail
missing=()
/usr/bin/python3 -c "import numpy" >/dev/null 2>&1 || missing+=(python3-numpy)
/usr/bin/python3 -c "import torch" >/dev/null 2>&1 || missing+=(python3-torch)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
[ -f /usr/include/nlohmann/json.hpp ] || missing+=(nlohmann-json3-dev)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
bash "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh" ${missing[@]+"${missing[@]}"}
echo "install-test-tools: $(/usr/bin/python3 -c 'import numpy, torch; print("numpy", numpy.__version__ + ", torch", torch.__version__)'), $(chromium --version 2>/dev/null | head -1)"
