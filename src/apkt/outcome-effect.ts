// The first of an outcome's effects (src/calls/outcome-effects.ts): the call's APKT
// record, added to the outbox inside the transaction that records the outcome, and named
// in call.apkt. `afterCommit` (the dispatcher's kick, the live feed) runs once that
// transaction is durable.
import type { OutcomeEffect } from '../calls/outcome-effects.ts'
import { recordForOutcome, type AgentUnits } from './from-call.ts'
import type { Outbox } from './outbox.ts'

export function apktRecordEffect (outbox: Outbox, agents: readonly AgentUnits[], afterCommit: () => void): OutcomeEffect {
  return (call, outcome) => {
    const made = recordForOutcome(call, outcome, agents, new Date())
    if (made === undefined) return
    outbox.add(made.record, made.outcomeKey).then(afterCommit, () => {}) // a failure is the journal's to log and retry
    call.apkt = { recordId: made.record.id, permasalahan: made.record.permasalahan }
  }
}
