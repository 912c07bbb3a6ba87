// The store as the features see it: async and engine-neutral. Two engines implement it,
// embedded SQLite (src/store/sqlite/, the default) and PostgreSQL (src/store/postgres/),
// and one contract suite (test/store/) runs against both.
//
// The shape follows how the service works: the active instance keeps the live picture
// (calls, ACW) in memory and the store is its durable copy. Features describe what
// changed as a batch of Changes and commit it; the batch is one transaction, batches
// land in the order they were handed in, and a commit resolves only once durable (so a
// feature announces, or acts on the PBX, after its change is saved). Reads are queries
// for what memory does not hold (a restart's recovery, pages of history, the outbox).
//
// No driver types cross this file: errors an engine considers "the database cannot take
// this now" are recognised by its isUnavailable().
import type { AcwEntry } from '../acw/types.ts'
import type { Agent, AgentToken } from '../agents/types.ts'
import type { AgentSession } from '../agents/session.ts'
import type { ApktRecord } from '../apkt/record.ts'
import type { AuditEntry, AuditRow } from '../audit/log.ts'
import type { Call } from '../calls/types.ts'
import type { RetentionStore } from '../retention/policy.ts'
import type { FenceToken, LeasePort } from '../ha/lease.ts'
import type { ReportFact } from '../reports/fact.ts'
import type { ReportQueries } from '../reports/types.ts'

/** One change; a batch of them commits in one transaction, in order. */
export type Change =
  /** insert or replace the call (its state, agent and data columns follow the call) */
  | { kind: 'call', call: Call }
  /** insert or replace the agent's ACW */
  | { kind: 'acw', entry: AcwEntry }
  /** the agent's ACW is over (no row left) */
  | { kind: 'acwEnded', agentId: string }
  /** insert or replace the agent's session (logged in: interface, queues, pause, next status) */
  | { kind: 'agentSession', session: AgentSession }
  /** the agent logged out (no row left) */
  | { kind: 'agentSessionEnded', agentId: string }
  | { kind: 'audit', entry: AuditEntry, at: string }
  /**
   * a new pending APKT record for `outcomeKey`; when that outcome already has a record
   * nothing is written (one outcome never yields two records, whoever writes it twice)
   */
  | { kind: 'apktRecord', record: ApktRecord, outcomeKey: string, at: string }
  // Agents and agent tokens (CONTRACT.md section 7). Each of these also bumps the
  // agents version (agents.version()) in the same transaction, so every process sharing
  // the database notices a change with one cheap read.
  /** insert or replace the agent (created_at kept on replace); `fromConfig`: written from the config file at start */
  | { kind: 'agent', agent: Agent, at: string, fromConfig?: boolean }
  /** the agent is gone, and every token of it revoked */
  | { kind: 'agentRemoved', agentId: string, at: string }
  /** a new agent token (its digest; the token itself is never stored) */
  | { kind: 'agentToken', token: Omit<AgentToken, 'createdAt'>, at: string }
  /** revokes every active token of the agent, except the one with digest `except` */
  | { kind: 'agentTokensRevoked', agentId: string, except?: string, at: string }
  /**
   * a report fact (CONTRACT.md section 8): kept, and added to the reports' rollups in the
   * same transaction; a fact whose id is already stored is not counted again
   */
  | { kind: 'reportFact', fact: ReportFact }

/** The Change kinds that bump the agents version. */
export const AGENT_CHANGES: ReadonlySet<Change['kind']> = new Set(['agent', 'agentRemoved', 'agentToken', 'agentTokensRevoked'])

export type OutboxStatus = 'pending' | 'delivered' | 'dead'
export const outboxStatuses: readonly OutboxStatus[] = ['pending', 'delivered', 'dead']

export interface OutboxEntry {
  id: string
  outcomeKey: string
  agentId: string
  callId: string
  status: OutboxStatus
  attempts: number
  lastError: string | null
  /** When a pending record may next be tried; null once delivered or dead. */
  nextAttemptAt: string | null
  createdAt: string
  deliveredAt: string | null
  record: ApktRecord
}

export interface OutboxStats {
  pending: number
  delivered: number
  dead: number
  /** Age of the oldest pending record, ms; null when nothing is pending. */
  oldestPendingAgeMs: number | null
}

export interface CallQueries {
  get: (callId: string) => Promise<Call | undefined>
  /** Calls that were not over when the service last stopped. */
  unfinished: () => Promise<Call[]>
}

export interface AcwQueries {
  /** Every running ACW, oldest first. */
  all: () => Promise<AcwEntry[]>
}

export interface SessionQueries {
  /** Every logged-in agent, by login time. */
  all: () => Promise<AgentSession[]>
}

export interface AuditQueries {
  /** Newest first; pass the smallest seq seen as `before` for the next page. */
  list: (opts?: { before?: number, limit?: number }) => Promise<AuditRow[]>
}

/** How one claimed record's delivery ended, as settleAndClaim records it. */
export type OutboxResult =
  /** as markDelivered */
  | { id: string, kind: 'delivered', at: Date }
  /** as markFailed */
  | { id: string, kind: 'failed', error: string, nextAttemptAt: Date }
  /** as markDead */
  | { id: string, kind: 'dead', error: string, attempted: boolean }
  /** as release: the claim given back, no attempt counted */
  | { id: string, kind: 'released', owner: string }

/** What claimDue takes. */
export interface OutboxClaim { now: Date, limit: number, owner: string, leaseMs: number }

/**
 * The APKT outbox's delivery side. Claims are durable and leased (`claimed_by`,
 * `claimed_until`), so several dispatchers (an HA group) never send one record at once
 * and a dispatcher that died leaves nothing stuck once its lease ran out.
 */
export interface OutboxQueries {
  /**
   * Claims up to `limit` records to deliver now, for `owner` until now + `leaseMs`: per
   * agent only its oldest pending record (creation order), only when due, and none of an
   * agent whose head record is claimed by anyone (live lease). On PostgreSQL the rows are
   * taken FOR UPDATE SKIP LOCKED, so concurrent claimers never get the same record.
   */
  claimDue: (opts: OutboxClaim) => Promise<OutboxEntry[]>
  /**
   * Records `results` (each exactly as its mark or release call would), then, when
   * `claim` is given, claims as claimDue does: one transaction, so a dispatcher pays one
   * round trip and one durable commit for a tick's worth of deliveries instead of one or
   * two per record. The claim sees the results (an agent whose record was just settled
   * offers its next one). Rejects with nothing of it written.
   */
  settleAndClaim: (results: readonly OutboxResult[], claim?: OutboxClaim) => Promise<OutboxEntry[]>
  /**
   * Drops every claim, whoever holds it: at the start of the one dispatcher that delivers
   * (a single instance's; an HA group's new active, which could take the lease only after
   * the former active's had run out, so whatever it claimed is a dead run's).
   */
  releaseAll: () => Promise<void>
  /** Gives one claim back without recording an attempt (delivery abandoned at shutdown). */
  release: (id: string, owner: string) => Promise<void>
  markDelivered: (id: string, at: Date) => Promise<void>
  markFailed: (id: string, error: string, nextAttemptAt: Date) => Promise<void>
  /** `attempted: false` when it dies without a delivery attempt (too old to send). */
  markDead: (id: string, error: string, attempted: boolean) => Promise<void>
  /**
   * Dead → pending, due now; attempts and the last error are kept as history.
   * Throws OutboxError RECORD_NOT_FOUND or RECORD_NOT_DEAD (src/apkt/errors.ts).
   */
  retry: (id: string, now: Date) => Promise<OutboxEntry>
  get: (id: string) => Promise<OutboxEntry | undefined>
  /** Newest first. */
  list: (opts?: { status?: OutboxStatus, limit?: number }) => Promise<OutboxEntry[]>
  /** Every record in creation order, read page by page (exports of any size). */
  entries: (opts?: { status?: OutboxStatus }) => AsyncIterable<OutboxEntry>
  stats: (now: Date) => Promise<OutboxStats>
}

/** An agent as stored: `fromConfig` when the config file wrote it (absent otherwise). */
export type StoredAgent = Agent & { fromConfig?: true }

export interface AgentQueries {
  /** Every agent in the store, by id. */
  all: () => Promise<StoredAgent[]>
  /** The active tokens (not revoked) of agents that exist, oldest first. */
  tokens: () => Promise<AgentToken[]>
  /** Bumped by every agent or token change (0 before the first): read it to notice another process's change. */
  version: () => Promise<number>
  /**
   * Where the engine can tell at once (PostgreSQL: LISTEN/NOTIFY): calls `onChange` after
   * another process committed an agent or token change (and once when listening starts);
   * returns the way to stop. Absent: the caller's poll of version() is all there is.
   */
  watch?: (onChange: () => void) => () => Promise<void>
}

/** Retention's storage side: src/retention/policy.ts says what may go. */
export type RetentionQueries = RetentionStore

export type StoreKind = 'sqlite' | 'postgres'

/** What an HA group needs of a shared store (PostgreSQL only; src/ha/lease.ts). */
export interface GroupStore {
  lease: LeasePort
  /**
   * From now on every commit carries the token `fence` gives (none: the commit is
   * refused), checked against the lease in the same transaction: a FencedError, with
   * nothing of the batch written, once this instance no longer holds the lease.
   */
  fenceWith: (fence: () => FenceToken | undefined) => void
}

export interface Store {
  readonly kind: StoreKind
  /** Where it is, for /v1/status and logs: a file path, or host:port/database (never a password). */
  readonly where: string
  /** The migrations this open applied (empty when the schema was already current). */
  readonly migrated: number[]
  /**
   * Commits `changes` in one transaction, after every batch handed in before it; resolves
   * once durable. Rejects with the engine's error and nothing of the batch applied.
   */
  commit: (changes: readonly Change[]) => Promise<void>
  calls: CallQueries
  acw: AcwQueries
  sessions: SessionQueries
  audit: AuditQueries
  outbox: OutboxQueries
  retention: RetentionQueries
  agents: AgentQueries
  /** The reports (CONTRACT.md section 8), read from the rollups the report facts keep. */
  reports: ReportQueries
  /** Rejects while the store cannot take a write (a cheap write, for /readyz and the guard). */
  check: () => Promise<void>
  /** Present on an engine an HA group can share (PostgreSQL). */
  readonly group?: GroupStore
  /** Whether an error means "the store cannot take this now" (disk full, server gone, timeout) rather than a bug. */
  isUnavailable: (err: unknown) => boolean
  /** Waits for commits in flight, then closes; later calls reject. */
  close: () => Promise<void>
  readonly open: boolean
}
