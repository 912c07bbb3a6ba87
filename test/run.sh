#!/usr/bin/env bash
# npm test: every test file, in two passes. Files that race real timers against real
# parts (the Asterisk sandbox, fault injection, a browser, action timeouts, ACW
# deadlines, back-offs) run one at a time: side by side on 2 cores they starved each
# other into rare false failures. The rest (pure logic, the store contract, in-process
# HTTP) runs two at a time, which halves the per-file start cost (node + tsx + tap,
# about 3 s a file) that was a quarter of the suite's time. Both passes always run;
# the exit code fails if either did. Arguments are passed to both passes.
set -u
cd "$(dirname "$0")/.."

# One at a time: whole folders, and the integration/store files with real timers.
serial_re='^test/(pbx|faults|ui)/|^test/integration/(acw-faults|apkt-delivery|apkt-flapping|apkt-crash|apkt-outbox|readiness|events-backpressure|resync-retry|transfer-outcome-unknown|server-process|retention|postgres-at-start|ami-adapter|real-parts|wrapup-api|ha-group|ha-runner)\.test\.ts$|^test/store/(postgres-faults|postgres-lease|sqlite-worker)\.test\.ts$'

all=$(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
parallel=$(printf '%s\n' "$all" | grep -Ev "$serial_re" || true)
serial=$(printf '%s\n' "$all" | grep -E "$serial_re" || true)

rc=0
echo "# pass 1 of 2: $(printf '%s\n' "$parallel" | grep -c .) files, two at a time"
# shellcheck disable=SC2086
npx tap --jobs=2 "$@" $parallel || rc=1
echo "# pass 2 of 2: $(printf '%s\n' "$serial" | grep -c .) files, one at a time"
# shellcheck disable=SC2086
npx tap --jobs=1 "$@" $serial || rc=1
exit $rc
