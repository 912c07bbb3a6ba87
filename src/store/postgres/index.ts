// The PostgreSQL engine of the store port (src/store/port.ts), for an HA group of
// instances sharing one database. One pg Pool; every query has a server-side
// statement_timeout and a client-side query_timeout, so a frozen or vanished server
// makes calls reject (isUnavailable) instead of hanging, and the same Store serves
// again once the server is back (src/store/postgres/pool.ts).
import type pg from 'pg'
import type { AcwEntry } from '../../acw/types.ts'
import type { AgentToken } from '../../agents/types.ts'
import type { AuditRow } from '../../audit/log.ts'
import type { Call } from '../../calls/types.ts'
import type { Migration } from '../migrations.ts'
import type { Change, Store, StoredAgent } from '../port.ts'
import type { FenceToken } from '../../ha/lease.ts'
import { AGENTS_CHANNEL, checkChanges } from './commit.ts'
import { listen, type Listener } from './notify.ts'
import { CommitQueue } from './commit-queue.ts'
import { isPgUnavailable } from './errors.ts'
import { migrate } from './migrate.ts'
import { pgOutbox } from './outbox.ts'
import { createPool, type PgLog } from './pool.ts'
import { pgRetention } from './retention.ts'
import { describeUrl } from './where.ts'
import { pgLease } from './lease.ts'
import { toAcwEntry, toAgent, toAgentSession, toAgentToken, type AcwRow, type AgentRow, type AgentTokenRow, type SessionRow } from '../rows.ts'
import type { AgentSession } from '../../agents/session.ts'
import type { AgentReportRow, ReportRange, SummaryQuery, SummaryRow } from '../../reports/types.ts'
import { dayRange, foldAgents, foldSummary, hourKeyOf, waitKey, type AgentDayRow, type ApktHourRow, type HourlyRow } from '../report-rollups.ts'

export { isPgUnavailable, PgUnavailableError } from './errors.ts'

export interface PostgresStoreOptions {
  url: string
  poolSize: number
  /** Per statement, on the server; the client gives up a second later. Default 5000. */
  statementTimeoutMs?: number
  /** Client-side limit for the migrations at open (they may rewrite large tables). Default 10 minutes. */
  migrationTimeoutMs?: number
  log?: PgLog
}

const DEFAULT_STATEMENT_TIMEOUT_MS = 5000
const DEFAULT_MIGRATION_TIMEOUT_MS = 600_000


interface AuditDbRow { seq: string, at: string, actor: string, role: string, action: string, target: string, details: Record<string, unknown> }

export async function openPostgresStore (opts: PostgresStoreOptions, migrations: readonly Migration[]): Promise<Store> {
  const where = describeUrl(opts.url)
  const statementTimeoutMs = opts.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS
  const migrated = await migrate(opts.url, migrations, where, { connectMs: Math.max(1000, statementTimeoutMs), migrationMs: opts.migrationTimeoutMs ?? DEFAULT_MIGRATION_TIMEOUT_MS })
  const { pool, end } = createPool({ url: opts.url, poolSize: opts.poolSize, statementTimeoutMs, ...(opts.log !== undefined ? { log: opts.log } : {}) })
  return new PostgresStore(pool, where, migrated, async () => { await end(statementTimeoutMs + 1000) }, opts.url, statementTimeoutMs)
}

class PostgresStore implements Store {
  readonly kind = 'postgres'
  private closed = false
  /** Commits one transaction at a time, in order, grouped (commit-queue.ts); reads do not wait for it. */
  private readonly queue: CommitQueue

  readonly calls
  readonly acw
  readonly sessions
  readonly audit
  readonly outbox
  readonly retention
  readonly group
  readonly agents
  readonly reports

  private readonly listeners = new Set<Listener>()

  constructor (private readonly pool: pg.Pool, readonly where: string, readonly migrated: number[], private readonly endPool: () => Promise<void>, private readonly url: string, private readonly statementTimeoutMs: number) {
    this.queue = new CommitQueue(pool)
    const rows = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> => {
      this.assertOpen()
      return (await pool.query<R>(sql, params)).rows
    }
    this.calls = {
      get: async (callId: string): Promise<Call | undefined> => (await rows<{ data: Call }>('SELECT data FROM calls WHERE call_id = $1', [callId]))[0]?.data,
      unfinished: async (): Promise<Call[]> => (await rows<{ data: Call }>(`SELECT data FROM calls
        WHERE state IN ('offered', 'connected', 'transferring') OR (state = 'transferred' AND data->>'endedAt' IS NULL)`)).map(r => r.data)
    }
    this.acw = {
      all: async (): Promise<AcwEntry[]> => (await rows<AcwRow>('SELECT * FROM acw ORDER BY started_at')).map(toAcwEntry)
    }
    this.sessions = {
      all: async (): Promise<AgentSession[]> => (await rows<SessionRow>('SELECT * FROM agent_sessions ORDER BY since, agent_id')).map(toAgentSession)
    }
    this.audit = {
      list: async (opts: { before?: number, limit?: number } = {}): Promise<AuditRow[]> =>
        (await rows<AuditDbRow>('SELECT * FROM audit WHERE seq < $1 ORDER BY seq DESC LIMIT $2', [opts.before ?? Number.MAX_SAFE_INTEGER, opts.limit ?? 100]))
          .map(r => ({ seq: Number(r.seq), at: r.at, actor: r.actor, role: r.role, action: r.action, target: r.target, details: r.details }))
    }
    this.agents = {
      all: async (): Promise<StoredAgent[]> => (await rows<AgentRow>('SELECT agent_id, data, from_config FROM agents ORDER BY agent_id COLLATE "C"')).map(toAgent),
      tokens: async (): Promise<AgentToken[]> => (await rows<AgentTokenRow>(`SELECT t.digest, t.agent_id, t.name, t.created_at FROM agent_tokens t
        JOIN agents a ON a.agent_id = t.agent_id WHERE t.revoked_at IS NULL ORDER BY t.created_at, t.digest COLLATE "C"`)).map(toAgentToken),
      version: async (): Promise<number> => Number((await rows<{ value: string }>("SELECT value FROM service_meta WHERE key = 'agents_version'"))[0]?.value ?? 0),
      watch: (onChange: () => void) => {
        this.assertOpen()
        const l = listen(this.url, this.statementTimeoutMs, AGENTS_CHANNEL, onChange)
        this.listeners.add(l)
        return async () => { this.listeners.delete(l); await l.close() }
      }
    }
    this.reports = {
      // As SQLite's (src/store/reports-repository.ts): the waits up to the threshold summed per hour in SQL.
      summary: async (q: SummaryQuery): Promise<SummaryRow[]> => {
        const [hourly, apkt] = await Promise.all([
          rows<HourlyRow>(`SELECT bucket, metric, key, n, seconds FROM report_hourly WHERE bucket >= $1 AND bucket < $2 AND metric <> 'wait'
            UNION ALL
            SELECT bucket, 'within', '', sum(n), 0 FROM report_hourly
              WHERE bucket >= $1 AND bucket < $2 AND metric = 'wait' AND key <= $3 GROUP BY bucket`, [hourKeyOf(q.from), hourKeyOf(q.to), waitKey(q.serviceLevelSeconds)]),
          rows<ApktHourRow>(`SELECT substr(created_at, 1, 13) AS bucket, status, count(*) AS n FROM apkt_records
            WHERE created_at >= $1 AND created_at < $2 GROUP BY 1, 2`, [q.from.toISOString(), q.to.toISOString()])
        ])
        return foldSummary(q.from, q.to, q.interval, hourly, apkt)
      },
      agents: async (r: ReportRange): Promise<AgentReportRow[]> => {
        const { fromDay, toDay } = dayRange(r.from, r.to)
        return foldAgents(await rows<AgentDayRow>(`SELECT agent_id, metric, key, sum(n) AS n, sum(seconds) AS seconds FROM report_agent_daily
          WHERE day >= $1 AND day < $2 GROUP BY agent_id, metric, key`, [fromDay, toDay]))
      }
    }
    this.outbox = guarded(pgOutbox(pool), () => { this.assertOpen() })
    this.retention = guarded(pgRetention(pool), () => { this.assertOpen() })
    this.group = {
      lease: guarded(pgLease(pool), () => { this.assertOpen() }),
      fenceWith: (fence: () => FenceToken | undefined) => { this.queue.fenceWith(fence) }
    }
  }

  get open (): boolean { return !this.closed }

  async commit (changes: readonly Change[]): Promise<void> {
    this.assertOpen()
    checkChanges(changes)
    if (changes.length === 0) return
    await this.queue.commit(changes)
  }

  async check (): Promise<void> {
    this.assertOpen()
    await this.pool.query(`INSERT INTO service_meta (key, value, updated_at) VALUES ('last_health_check', 'ok', $1)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, [new Date().toISOString()])
  }

  isUnavailable (err: unknown): boolean { return isPgUnavailable(err) }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.all([...this.listeners].map(async l => { await l.close() }))
    await this.queue.idle()
    await this.endPool()
  }

  private assertOpen (): void {
    if (this.closed) throw new Error(`the store ${this.where} is closed`)
  }
}

/** The same queries, refusing once the store is closed (a closed pool's error is obscure). */
function guarded<T extends object> (queries: T, assertOpen: () => void): T {
  const out: Record<string, unknown> = {}
  for (const [name, fn] of Object.entries(queries)) {
    out[name] = fn.constructor.name === 'AsyncGeneratorFunction'
      ? (...args: unknown[]) => { assertOpen(); return (fn as (...a: unknown[]) => unknown)(...args) }
      : async (...args: unknown[]) => { assertOpen(); return await (fn as (...a: unknown[]) => Promise<unknown>)(...args) }
  }
  return out as T
}
