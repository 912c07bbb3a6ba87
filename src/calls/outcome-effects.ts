// What an outcome causes. An outcome is a call leaving its agent for good: the
// transfer landed ("transferred") or the call ended ("ended"). Its effects run in one
// ordered list, declared once in the wiring (src/service.ts), all INSIDE the
// transaction that records the outcome, so they commit with it or not at all:
//   1. the APKT record (an outbox row; the effect names it in call.apkt)
//   2. ACW's deadline for the agent of a landed transfer
//   3. the audit entry of the transfer press that landed
// Once the transaction is durable: the tracker's 'call' and 'outcome' events (live feed,
// metrics, the transfer service's checks) and the APKT dispatcher's kick.
import type { Call } from './types.ts'

export type Outcome = 'transferred' | 'ended'

/** Runs inside the transaction that records the outcome; may add to the call (call.apkt). */
export type OutcomeEffect = (call: Call, outcome: Outcome) => void
