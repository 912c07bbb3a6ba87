#!/usr/bin/env bash
# Installs Debian's chromium (once) for the browser test (test/ui/browser.test.ts).
# playwright-core drives this system binary; it never downloads a browser of its own.
set -euo pipefail
BIN="${CHROMIUM_PATH:-/usr/bin/chromium}"

if [ -x "$BIN" ]; then
  echo "chromium ready at $BIN"
  exit 0
fi
# One installer at a time (npm test may be started twice, tap runs files in parallel);
# the others wait and reuse what the first installed.
LOCK="${CHROMIUM_LOCK:-/var/cache/pln123-cti/chromium.lock}"
mkdir -p "$(dirname "$LOCK")"
exec 9>"$LOCK"
flock 9
if [ -x "$BIN" ]; then
  echo "chromium ready at $BIN"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  # Not fatal here: the browser test itself says why it cannot run (and fails under CI).
  echo "chromium is missing at $BIN and installing it needs root (apt-get install chromium)" >&2
  exit 0
fi
echo "installing chromium (Debian package)"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }; then
  echo "could not install chromium with apt-get; the browser test will report it" >&2
  exit 0
fi
echo "chromium ready at $BIN"
