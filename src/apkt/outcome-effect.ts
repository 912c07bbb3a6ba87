// The first of an outcome's effects (src/calls/outcome-effects.ts): the call's APKT
// record, added to the outbox inside the transaction that records the outcome, and named
// in call.apkt. `afterCommit` (the dispatcher's kick, the live feed) runs once that
// transaction is durable.
import type { OutcomeEffect } from '../calls/outcome-effects.ts'
import { recordForOutcome, type AgentUnits } from './from-call.ts'
import type { Outbox } from './outbox.ts'

/** `agents`: a fixed list, or a lookup of the agent as it is now (the agent directory: unit and unit pelayanan follow a change). */
export function apktRecordEffect (outbox: Outbox, agents: readonly AgentUnits[] | ((agentId: string) => AgentUnits | undefined), afterCommit: () => void): OutcomeEffect {
  return (call, outcome) => {
    const now = typeof agents === 'function'
      ? (call.agentId === undefined ? [] : [agents(call.agentId)].filter((a): a is AgentUnits => a !== undefined))
      : agents
    const made = recordForOutcome(call, outcome, now, new Date())
    if (made === undefined) return
    outbox.add(made.record, made.outcomeKey).then(afterCommit, () => {}) // a failure is the journal's to log and retry
    call.apkt = { recordId: made.record.id, permasalahan: made.record.permasalahan }
  }
}
