#!/usr/bin/env bash
# Installs the Debian packages lpnd builds against, when any is missing (sudo when not root).
set -euo pipefail
packages=(pkg-config libzmq3-dev libopenblas-dev libpng-dev libfftw3-dev libismrmrd-dev libhdf5-dev libxml2 ismrmrd-tools)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
