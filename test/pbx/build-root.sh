#!/usr/bin/env bash
# Builds (once) the Debian sid root that holds Asterisk 22 for the sandbox PBX.
# Kept outside the repo and reused; rebuilt only when missing or broken.
set -euo pipefail
ROOT="${PBX_ROOT:-/var/cache/pln123-cti/asterisk-root}"
# PBX_MIRROR: an apt mirror to use instead of debootstrap's default.
MIRROR="${PBX_MIRROR:-}"

if [ -x "$ROOT/usr/sbin/asterisk" ] && [ -f "$ROOT/.pln123-cti-ready" ]; then
  echo "sandbox root ready at $ROOT"
  exit 0
fi
# One builder at a time (tap runs test files in parallel); the others wait and reuse.
mkdir -p "$(dirname "$ROOT")"
exec 9>"$ROOT.lock"
flock 9
if [ -x "$ROOT/usr/sbin/asterisk" ] && [ -f "$ROOT/.pln123-cti-ready" ]; then
  echo "sandbox root ready at $ROOT"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "building the sandbox root needs root (debootstrap, chroot)" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  echo "installing debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq debootstrap >/dev/null
fi
echo "building sandbox root at $ROOT (about a minute)"
rm -rf "$ROOT.tmp"
debootstrap --variant=minbase --include=asterisk sid "$ROOT.tmp" ${MIRROR:+"$MIRROR"} >"$ROOT.log" 2>&1 || {
  echo "debootstrap failed; see $ROOT.log" >&2; tail -20 "$ROOT.log" >&2; exit 1; }
mkdir -p "$ROOT.tmp"/var/{lib,log,spool}/asterisk "$ROOT.tmp"/run/asterisk
touch "$ROOT.tmp/.pln123-cti-ready"
rm -rf "$ROOT"
mv "$ROOT.tmp" "$ROOT"
echo "sandbox root ready at $ROOT"
