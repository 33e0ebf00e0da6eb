#!/usr/bin/env bash
# `make install` into a staging root, then: the installed tree is complete, its pipelines
# validate with the installed binary and models, and `systemd-analyze verify` accepts both
# units without a single warning (Debian's systemd package is installed when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v systemd-analyze >/dev/null || [ ! -x /bin/kill ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq systemd procps
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
make -s install DESTDIR="$root" >/dev/null
for f in usr/local/bin/lpnd etc/lpnd/lpnd.yaml etc/systemd/system/lpnd.service etc/systemd/system/lpnd@.service \
         usr/local/share/lpnd/pipelines/mri-4x.yaml usr/local/share/lpnd/models/phantom.safetensors \
         usr/local/share/doc/lpnd/DEPLOY.md; do
  [ -e "$root/$f" ] || { echo "make install did not place /$f"; exit 1; }
done
grep -q "file: /usr/local/share/lpnd/pipelines/mri-4x-stream.yaml" "$root/etc/lpnd/lpnd.yaml" \
  || { echo "/etc/lpnd/lpnd.yaml does not point at the installed pipelines"; exit 1; }
"$root/usr/local/bin/lpnd" validate "$root"/usr/local/share/lpnd/pipelines/*.yaml >/dev/null
# verify resolves dependencies (sysinit.target, …) and commands (ExecReload's /bin/kill) inside
# --root: give it the system's unit tree and kill.
mkdir -p "$root/usr/lib" "$root/bin" && cp -r /usr/lib/systemd "$root/usr/lib/" && cp /bin/kill "$root/bin/kill"
for unit in lpnd.service lpnd@example.service; do
  out=$(systemd-analyze verify --root="$root" "/etc/systemd/system/$unit" 2>&1) || { echo "$out"; exit 1; }
  [ -z "$out" ] || { echo "systemd-analyze verify $unit: $out"; exit 1; }
done
echo "install tree and systemd units verified"
