#!/usr/bin/env bash
# Installs Debian's chromium (once) for the browser test (test/ui/browser.test.ts).
# playwright-core drives this system binary; it never downloads a browser of its own.
# Fails (non-zero, with the reason) when chromium is missing and cannot be installed:
# a run must not lose its only real-browser test quietly. To run the tests without a
# browser on purpose, set PLN123_ALLOW_MISSING=chromium (test/helpers/real-parts.ts):
# this script then only reports what is missing.
set -euo pipefail
BIN="${CHROMIUM_PATH:-/usr/bin/chromium}"

allowed_missing () {
  case ",${PLN123_ALLOW_MISSING:-}," in
    *,chromium,*|*,all,*) return 0 ;;
    *) return 1 ;;
  esac
}
# Why chromium is not there, then exit: 1, or 0 when the opt-out names it.
missing () {
  if allowed_missing; then
    echo "chromium is missing at $BIN: $1 (allowed by PLN123_ALLOW_MISSING; the browser test will skip)" >&2
    exit 0
  fi
  echo "chromium is missing at $BIN: $1 (set PLN123_ALLOW_MISSING=chromium to run the tests without it)" >&2
  exit 1
}

if [ -x "$BIN" ]; then
  echo "chromium ready at $BIN"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  missing "installing it needs root (apt-get install chromium)"
fi
# One installer at a time (npm test may be started twice, tap runs files in parallel);
# the others wait and reuse what the first installed.
LOCK="${CHROMIUM_LOCK:-/var/cache/pln123-cti/chromium.lock}"
mkdir -p "$(dirname "$LOCK")" || missing "cannot create the lock directory for $LOCK"
exec 9>"$LOCK"
flock 9
if [ -x "$BIN" ]; then
  echo "chromium ready at $BIN"
  exit 0
fi
echo "installing chromium (Debian package)"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq; then
  missing "apt-get update failed (exit above)"
fi
if ! apt-get install -y -qq chromium >/dev/null; then
  missing "apt-get install chromium failed"
fi
if [ ! -x "$BIN" ]; then
  missing "apt-get installed chromium but $BIN is not there (set CHROMIUM_PATH to where it is)"
fi
echo "chromium ready at $BIN"
