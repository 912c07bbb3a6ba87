// What the store's front (the port, on the main thread) asks of the SQLite connection:
// plain data, so the same jobs run on the main thread or cross to a worker
// (postMessage: structured clone) unchanged. Times travel as ISO strings.
import Database from 'better-sqlite3'
import { OutboxError, type OutboxErrorCode } from '../../apkt/errors.ts'
import type { RetentionTable } from '../../retention/policy.ts'
import { StoreVersionError } from '../errors.ts'
import type { Change, OutboxStatus } from '../port.ts'

export type Job =
  // writes: grouped, each in its own savepoint of one transaction (group commit)
  | { op: 'commit', changes: readonly Change[] }
  | { op: 'check' }
  | ({ op: 'claimDue' } & ClaimData)
  | { op: 'releaseAll' }
  | { op: 'release', id: string, owner: string }
  | { op: 'markDelivered', id: string, at: string }
  | { op: 'markFailed', id: string, error: string, nextAttemptAt: string }
  | { op: 'markDead', id: string, error: string, attempted: boolean }
  | { op: 'settleAndClaim', results: readonly ResultData[], claim?: ClaimData }
  | { op: 'retry', id: string, now: string }
  // reads: outside any transaction, after the writes handed in before them committed
  | { op: 'callGet', callId: string }
  | { op: 'callsUnfinished' }
  | { op: 'acwAll' }
  | { op: 'sessionsAll' }
  | { op: 'auditList', before?: number, limit?: number }
  | { op: 'outboxGet', id: string }
  | { op: 'outboxList', status?: OutboxStatus, limit?: number }
  | { op: 'outboxPage', status?: OutboxStatus, afterSeq: number, limit: number }
  | { op: 'outboxStats', now: string }
  | { op: 'countOld', table: RetentionTable, cutoff: string }
  | { op: 'agentsAll' }
  | { op: 'agentTokens' }
  | { op: 'agentsVersion' }
  | { op: 'reportSummary', from: string, to: string, interval: 'hour' | 'day', serviceLevelSeconds: number }
  | { op: 'reportAgents', from: string, to: string }
  // alone: retention's batch is its own short transaction (and sets its own sync level)
  | { op: 'deleteBatch', table: RetentionTable, cutoff: string, limit: number, after?: string }

/** OutboxResult with its times as ISO strings. */
export type ResultData =
  | { id: string, kind: 'delivered', at: string }
  | { id: string, kind: 'failed', error: string, nextAttemptAt: string }
  | { id: string, kind: 'dead', error: string, attempted: boolean }
  | { id: string, kind: 'released', owner: string }

export interface ClaimData { now: string, limit: number, owner: string, leaseMs: number }

const WRITES = new Set<Job['op']>(['commit', 'check', 'claimDue', 'settleAndClaim', 'releaseAll', 'release', 'markDelivered', 'markFailed', 'markDead', 'retry'])
export const isWrite = (job: Job): boolean => WRITES.has(job.op)

export type Outcome = { ok: true, value: unknown } | { ok: false, error: unknown }

/** An error as it crosses from the worker: enough to rebuild the classes callers test for. */
export interface ErrorData { name: string, message: string, code?: string, stack?: string, file?: string, found?: number, known?: number }

export function errorToData (err: unknown): ErrorData {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) }
  const e = err as Error & { code?: unknown, file?: unknown, found?: unknown, known?: unknown }
  return {
    name: e.name,
    message: e.message,
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(e.stack !== undefined ? { stack: e.stack } : {}),
    ...(typeof e.file === 'string' ? { file: e.file } : {}),
    ...(typeof e.found === 'number' ? { found: e.found } : {}),
    ...(typeof e.known === 'number' ? { known: e.known } : {})
  }
}

/** The same classes as on the thread that threw: isUnavailable() and `instanceof OutboxError` keep working. */
export function errorFromData (d: ErrorData): Error {
  let err: Error
  if (d.name === 'SqliteError' && d.code !== undefined) err = new Database.SqliteError(d.message, d.code)
  else if (d.name === 'OutboxError' && d.code !== undefined) err = new OutboxError(d.code as OutboxErrorCode, d.message)
  else if (d.name === 'StoreVersionError') err = new StoreVersionError(d.file ?? '', d.found ?? 0, d.known ?? 0)
  else if (d.name === 'TypeError') err = new TypeError(d.message)
  else if (d.name === 'RangeError') err = new RangeError(d.message)
  else {
    err = new Error(d.message)
    if (d.name !== 'Error') Object.defineProperty(err, 'name', { value: d.name, enumerable: false, configurable: true, writable: true })
    if (d.code !== undefined) Object.assign(err, { code: d.code })
  }
  if (d.stack !== undefined) err.stack = d.stack
  return err
}
