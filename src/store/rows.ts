// Rows as both engines read them back (the same columns, the same ISO times), turned into
// the port's shapes in one place, and the limits both apply when writing.
import type { AcwEntry } from '../acw/types.ts'
import { cleanAgent, type Agent, type AgentToken } from '../agents/types.ts'
import type { AgentSession, NextStatus } from '../agents/session.ts'
import type { ApktRecord } from '../apkt/record.ts'
import type { OutboxEntry, OutboxStatus } from './port.ts'

export interface OutboxRow {
  /** SQLite gives a number, PostgreSQL's bigint a string */
  seq: number | string
  id: string
  outcome_key: string
  agent_id: string
  call_id: string
  status: OutboxStatus
  attempts: number
  last_error: string | null
  next_attempt_at: string | null
  created_at: string
  delivered_at: string | null
  body: string
}

export const toOutboxEntry = (r: OutboxRow): OutboxEntry => ({
  id: r.id,
  outcomeKey: r.outcome_key,
  agentId: r.agent_id,
  callId: r.call_id,
  status: r.status,
  attempts: r.attempts,
  lastError: r.last_error,
  nextAttemptAt: r.next_attempt_at,
  createdAt: r.created_at,
  deliveredAt: r.delivered_at,
  record: JSON.parse(r.body) as ApktRecord
})

// A receiver's error page can be large; the outbox keeps enough to diagnose.
const MAX_ERROR_CHARS = 500
export const clipError = (s: string): string => s.length > MAX_ERROR_CHARS ? `${s.slice(0, MAX_ERROR_CHARS)}…` : s

export interface AcwRow { agent_id: string, call_id: string | null, started_at: string, ends_at: string | null, state: AcwEntry['state'], seconds: number, interface: string | null, pause_reason: string | null }

export const toAcwEntry = (r: AcwRow): AcwEntry => ({
  agentId: r.agent_id,
  ...(r.call_id !== null ? { callId: r.call_id } : {}),
  startedAt: r.started_at,
  ...(r.ends_at !== null ? { endsAt: r.ends_at } : {}),
  state: r.state,
  seconds: r.seconds,
  ...(r.interface !== null ? { interface: r.interface } : {}),
  ...(r.pause_reason !== null ? { pauseReason: r.pause_reason } : {})
})

export interface AgentRow { agent_id: string, data: string | Agent, from_config: number | boolean }
export interface AgentTokenRow { digest: string, agent_id: string, name: string, created_at: string }

/** SQLite gives the data as text, PostgreSQL's jsonb as an object; the key is the row's. */
export const toAgent = (r: AgentRow): Agent & { fromConfig?: true } => ({
  ...cleanAgent({ ...(typeof r.data === 'string' ? JSON.parse(r.data) as Agent : r.data), id: r.agent_id }),
  ...(r.from_config === 1 || r.from_config === true ? { fromConfig: true as const } : {})
})

export const toAgentToken = (r: AgentTokenRow): AgentToken => ({ digest: r.digest, agentId: r.agent_id, name: r.name, createdAt: r.created_at })
export interface SessionRow { agent_id: string, interface: string, queues: string, since: string, pause_reason: string | null, paused_since: string | null, next: string | null }

export const toAgentSession = (r: SessionRow): AgentSession => ({
  agentId: r.agent_id,
  interface: r.interface,
  queues: JSON.parse(r.queues) as string[],
  since: r.since,
  ...(r.pause_reason !== null ? { pauseReason: r.pause_reason } : {}),
  ...(r.paused_since !== null ? { pausedSince: r.paused_since } : {}),
  ...(r.next !== null ? { next: JSON.parse(r.next) as NextStatus } : {})
})

/** The row's values in column order: agent_id, interface, queues, since, pause_reason, paused_since, next, updated_at. */
export const sessionValues = (s: AgentSession, now: string): Array<string | null> =>
  [s.agentId, s.interface, JSON.stringify(s.queues), s.since, s.pauseReason ?? null, s.pausedSince ?? null, s.next !== undefined ? JSON.stringify(s.next) : null, now]
