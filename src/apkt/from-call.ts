// Which call outcomes yield an APKT record (CONTRACT.md section 5, SOP): an educated
// inquiry (coverage, billing) when the call ends, with the last inquiry of the call;
// a transfer topic (activation, disruption) when the transfer completes. A call with
// no ICONNET inquiry yields none. The outcome key makes a second record impossible.
import type { Call } from '../calls/types.ts'
import type { Outcome } from '../calls/tracker.ts'
import { buildApktRecord, type ApktRecord } from './record.ts'

export interface AgentUnits { id: string, unit: string, unitPelayanan: string }

export function recordForOutcome (call: Call, outcome: Outcome, agents: readonly AgentUnits[], at: Date): { record: ApktRecord, outcomeKey: string } | undefined {
  const inquiry = call.inquiry
  if (inquiry === undefined || call.agentId === undefined) return undefined
  const action = inquiry.decision.action
  if (outcome === 'transferred' && action !== 'transfer') return undefined
  if (outcome === 'ended' && action !== 'educate') return undefined
  const agent = agents.find(a => a.id === call.agentId)
  if (agent === undefined) return undefined
  const record = buildApktRecord({
    callId: call.callId,
    agentId: agent.id,
    topic: inquiry.topic,
    apkt: inquiry.decision.apkt,
    customer: { name: inquiry.customer.name, customerId: inquiry.customer.customerId ?? null },
    unit: agent.unit,
    unitPelayanan: agent.unitPelayanan,
    at
  })
  return { record, outcomeKey: `${call.callId}:${action}` }
}
