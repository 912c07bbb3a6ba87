#!/usr/bin/env bash
# Installs Debian's PostgreSQL (once) for the tests, benchmarks and demo that need a real
# server (test/helpers/postgres.ts starts throwaway clusters from its binaries; nothing
# here starts a server). Fails (non-zero, with the reason) when PostgreSQL is missing and
# cannot be installed: a run must not lose its PostgreSQL tests quietly. To run the tests
# without it on purpose, set PLN123_ALLOW_MISSING=postgres (test/helpers/real-parts.ts):
# this script then only reports what is missing.
set -euo pipefail

# PLN123_PG_BIN: PostgreSQL's bin directory when it is not Debian's (the test helper
# reads it too); nothing is installed for it, it is only checked.
PG_BIN="${PLN123_PG_BIN:-}"

installed () {
  if [ -n "$PG_BIN" ]; then [ -x "$PG_BIN/initdb" ]; return; fi
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && id -u postgres >/dev/null 2>&1
}
ready () {
  local bin="$PG_BIN"
  [ -n "$bin" ] || bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  echo "postgresql ready at $bin"
  exit 0
}
# Why PostgreSQL is not there, then exit: 1, or 0 when the opt-out names postgres.
missing () {
  case ",${PLN123_ALLOW_MISSING:-}," in
    *,postgres,*|*,all,*)
      echo "postgresql is missing: $1 (allowed by PLN123_ALLOW_MISSING; the tests that need it will skip)" >&2
      exit 0 ;;
  esac
  echo "postgresql is missing: $1 (set PLN123_ALLOW_MISSING=postgres to run the tests without it)" >&2
  exit 1
}

if installed; then ready; fi
if [ -n "$PG_BIN" ]; then
  missing "PLN123_PG_BIN=$PG_BIN holds no initdb"
fi
if [ "$(id -u)" != 0 ]; then
  missing "no /usr/lib/postgresql/*/bin/initdb (or no postgres user), and installing it needs root (apt-get install postgresql)"
fi
# One installer at a time (npm test may be started twice); the others wait and reuse.
LOCK="${POSTGRES_LOCK:-/var/cache/pln123-cti/postgres.lock}"
mkdir -p "$(dirname "$LOCK")" || missing "cannot create the lock directory for $LOCK"
exec 9>"$LOCK"
flock 9
if installed; then ready; fi
echo "installing postgresql (Debian package, about 30 s)"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq; then
  missing "apt-get update failed (exit above)"
fi
if ! apt-get install -y -qq postgresql >/dev/null; then
  missing "apt-get install postgresql failed"
fi
if ! installed; then
  missing "apt-get installed postgresql but there is no /usr/lib/postgresql/*/bin/initdb or no postgres user"
fi
ready
