#!/usr/bin/env bash
# npm test: every test file, in two passes. Files that race real timers against real
# parts (the Asterisk sandbox, fault injection, a browser, action timeouts, ACW
# deadlines, back-offs) run one at a time: side by side on 2 cores they starved each
# other into rare false failures. The rest (pure logic, the store contract, in-process
# HTTP) runs two at a time, which halves the per-file start cost (node + tsx + tap,
# about 3 s a file) that was a quarter of the suite's time. Both passes always run;
# the exit code fails if either did. Arguments are passed to every pass.
# A third pass runs the four longest files, two at a time: they spend most of their time
# waiting (ACW deadlines, process restarts, a database restart) and assert outcomes and
# bounds with seconds of margin, so side by side they overlap their waits (about two minutes saved)
# without the timing checks that made the serial pass serial.
set -u
cd "$(dirname "$0")/.."

# One at a time: whole folders, and the integration/store files with real timers.
serial_re='^test/(pbx|faults|ui)/|^test/integration/(acw-faults|apkt-delivery|apkt-flapping|apkt-crash|apkt-outbox|readiness|events-backpressure|resync-retry|transfer-outcome-unknown|server-process|retention|postgres-at-start|ami-adapter|real-parts|wrapup-api|ha-group|ha-runner)\.test\.ts$|^test/store/(postgres-faults|postgres-lease|sqlite-worker)\.test\.ts$'

# Two at a time after the serial pass: long, wait-bound, outcome-only checks.
waiting_re='^test/(pbx/acw-crash|pbx/ha-takeover|faults/sigkill-random|faults/store-postgres)\.test\.ts$'

all=$(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
parallel=$(printf '%s\n' "$all" | grep -Ev "$serial_re" || true)
serial=$(printf '%s\n' "$all" | grep -E "$serial_re" | grep -Ev "$waiting_re" || true)
waiting=$(printf '%s\n' "$all" | grep -E "$waiting_re" || true)

rc=0
echo "# pass 1 of 3: $(printf '%s\n' "$parallel" | grep -c .) files, two at a time"
# shellcheck disable=SC2086
npx tap --jobs=2 "$@" $parallel || rc=1
echo "# pass 2 of 3: $(printf '%s\n' "$serial" | grep -c .) files, one at a time"
# shellcheck disable=SC2086
npx tap --jobs=1 "$@" $serial || rc=1
echo "# pass 3 of 3: $(printf '%s\n' "$waiting" | grep -c .) long files that mostly wait, two at a time"
# shellcheck disable=SC2086
npx tap --jobs=2 "$@" $waiting || rc=1
exit $rc
