#!/usr/bin/env bash
# apt-install.sh PACKAGE...: installs Debian packages (as root, or through sudo), updating the lists
# first. The install scripts call it only with what is missing.
set -euo pipefail
[ $# -gt 0 ] || exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing $* from Debian"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@"
