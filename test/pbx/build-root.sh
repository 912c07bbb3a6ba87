#!/usr/bin/env bash
# Builds (once) the Debian sid root that holds Asterisk 22 for the sandbox PBX.
# Kept outside the repo and reused; rebuilt only when missing or broken.
# Fails (non-zero, with the reason) when the root is missing and cannot be built; with
# PLN123_ALLOW_MISSING=asterisk (test/helpers/real-parts.ts) it only reports it, and
# the tests that need Asterisk skip.
set -euo pipefail
ROOT="${PBX_ROOT:-/var/cache/pln123-cti/asterisk-root}"
# PBX_MIRROR: an apt mirror to use instead of debootstrap's default.
MIRROR="${PBX_MIRROR:-}"

# Why the root is not there, then exit: 1, or 0 when the opt-out names asterisk.
missing () {
  case ",${PLN123_ALLOW_MISSING:-}," in
    *,asterisk,*|*,all,*)
      echo "the Asterisk sandbox root is missing at $ROOT: $1 (allowed by PLN123_ALLOW_MISSING; the tests that need it will skip)" >&2
      exit 0 ;;
  esac
  echo "the Asterisk sandbox root is missing at $ROOT: $1 (set PLN123_ALLOW_MISSING=asterisk to run the tests without it)" >&2
  exit 1
}

if [ -x "$ROOT/usr/sbin/asterisk" ] && [ -f "$ROOT/.pln123-cti-ready" ]; then
  echo "sandbox root ready at $ROOT"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  missing "building it needs root (debootstrap, chroot)"
fi
# One builder at a time (tap runs test files in parallel); the others wait and reuse.
mkdir -p "$(dirname "$ROOT")" || missing "cannot create $(dirname "$ROOT")"
exec 9>"$ROOT.lock"
flock 9
if [ -x "$ROOT/usr/sbin/asterisk" ] && [ -f "$ROOT/.pln123-cti-ready" ]; then
  echo "sandbox root ready at $ROOT"
  exit 0
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  echo "installing debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || missing "apt-get update failed (installing debootstrap)"
  apt-get install -y -qq debootstrap >/dev/null || missing "apt-get install debootstrap failed"
fi
echo "building sandbox root at $ROOT (about a minute)"
rm -rf "$ROOT.tmp"
debootstrap --variant=minbase --include=asterisk sid "$ROOT.tmp" ${MIRROR:+"$MIRROR"} >"$ROOT.log" 2>&1 || {
  tail -20 "$ROOT.log" >&2; missing "debootstrap failed; see $ROOT.log"; }
mkdir -p "$ROOT.tmp"/var/{lib,log,spool}/asterisk "$ROOT.tmp"/run/asterisk
touch "$ROOT.tmp/.pln123-cti-ready"
rm -rf "$ROOT"
mv "$ROOT.tmp" "$ROOT"
echo "sandbox root ready at $ROOT"
