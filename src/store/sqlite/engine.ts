// The SQLite side of the store: one connection and the jobs run on it, synchronously.
// It runs where the connection lives (the main thread, or a worker that owns it);
// front.ts hands it the jobs queued since its last run, in order.
//
// Group commit: consecutive writes run in ONE transaction (one fsync for all of them
// under synchronous FULL), each in its own savepoint, so a batch the database refuses
// (a constraint) is rolled back alone and the others still commit. When the group's
// transaction itself fails (BEGIN, COMMIT, or an error that made SQLite roll the whole
// transaction back: disk full, I/O), nothing of it was saved; the writes are then
// retried one by one, each in its own transaction, so a batch too big for what is left
// of the disk does not take the small ones down with it.
// A read ends the group: it runs after the writes before it are committed, so it never
// answers with something that may yet roll back.
import { OutboxError } from '../../apkt/errors.ts'
import { SqliteOutboxStatements } from './outbox-statements.ts'
import { SqliteAcwRepository } from '../acw-repository.ts'
import { SqliteAgentsRepository } from '../agents-repository.ts'
import { SqliteAuditLog } from '../audit-repository.ts'
import { SqliteCallRepository } from '../calls-repository.ts'
import { SqliteRetentionStore } from '../retention-repository.ts'
import { SqliteReports } from '../reports-repository.ts'
import type { ReportFact } from '../../reports/fact.ts'
import type { Store as SqliteFile } from '../sqlite.ts'
import type { Change, OutboxEntry, OutboxStatus } from '../port.ts'
import { lastCallSaves } from '../superseded.ts'
import { isWrite, type ClaimData, type Job, type Outcome, type ResultData } from './jobs.ts'
import { clipError, sessionValues, toAgentSession, toOutboxEntry, type OutboxRow, type SessionRow } from '../rows.ts'



export class SqliteEngine {
  private readonly db
  private readonly calls
  private readonly acw
  private readonly audit
  private readonly outbox
  private readonly retention
  private readonly agents
  private readonly reports
  private readonly stmt

  constructor (private readonly file: SqliteFile) {
    const db = this.db = file.db
    this.calls = new SqliteCallRepository(db)
    this.acw = new SqliteAcwRepository(db)
    this.audit = new SqliteAuditLog(db)
    this.outbox = new SqliteOutboxStatements(db) // add, get, list, stats: today's SQL; claims are below
    this.retention = new SqliteRetentionStore(db)
    this.agents = new SqliteAgentsRepository(db)
    this.reports = new SqliteReports(db)
    this.stmt = {
      audit: db.prepare('INSERT INTO audit (at, actor, role, action, target, details) VALUES (?, ?, ?, ?, ?, ?)'),
      sessionSave: db.prepare(`INSERT INTO agent_sessions (agent_id, interface, queues, since, pause_reason, paused_since, next, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(agent_id) DO UPDATE SET interface = excluded.interface, queues = excluded.queues, since = excluded.since, pause_reason = excluded.pause_reason,
          paused_since = excluded.paused_since, next = excluded.next, updated_at = excluded.updated_at`),
      sessionDelete: db.prepare('DELETE FROM agent_sessions WHERE agent_id = ?'),
      sessionsAll: db.prepare<[], SessionRow>('SELECT * FROM agent_sessions ORDER BY since, agent_id'),
      // The oldest due records that are their agent's head (no earlier pending record of
      // the agent), with the claim in the row (migration 10): an agent whose head holds a
      // live lease is skipped, whoever holds it. Only heads are ever claimed, so the head's
      // claim is the agent's. The pending records are walked in seq order and the walk
      // stops at `limit` heads; finding every agent's head first (MIN(seq) GROUP BY
      // agent_id) read the whole backlog at each claim: 5,000 pending records, claims of
      // about 18, cost ~25 us of the store thread per record delivered (in-thread
      // measurement, 96 -> 82 us per record settled and claimed).
      due: db.prepare<{ now: string, limit: number }, OutboxRow>(`SELECT r.* FROM apkt_records r INDEXED BY apkt_records_status
        WHERE r.status = 'pending' AND r.next_attempt_at <= @now AND (r.claimed_until IS NULL OR r.claimed_until <= @now)
          AND NOT EXISTS (SELECT 1 FROM apkt_records e INDEXED BY apkt_records_pending_by_agent WHERE e.status = 'pending' AND e.agent_id = r.agent_id AND e.seq < r.seq)
        ORDER BY r.seq LIMIT @limit`),
      claim: db.prepare('UPDATE apkt_records SET claimed_by = ?, claimed_until = ? WHERE seq = ?'),
      release: db.prepare('UPDATE apkt_records SET claimed_by = NULL, claimed_until = NULL WHERE id = ? AND claimed_by = ?'),
      // Claims are only ever on pending records: the status index narrows the scan to them.
      releaseAll: db.prepare("UPDATE apkt_records SET claimed_by = NULL, claimed_until = NULL WHERE status = 'pending' AND claimed_by IS NOT NULL"),
      delivered: db.prepare(`UPDATE apkt_records SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, next_attempt_at = NULL, claimed_by = NULL, claimed_until = NULL
        WHERE id = ? AND status = 'pending'`),
      failed: db.prepare(`UPDATE apkt_records SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, claimed_by = NULL, claimed_until = NULL
        WHERE id = ? AND status = 'pending'`),
      dead: db.prepare(`UPDATE apkt_records SET status = 'dead', attempts = attempts + ?, last_error = ?, next_attempt_at = NULL, claimed_by = NULL, claimed_until = NULL
        WHERE id = ? AND status = 'pending'`),
      byId: db.prepare<[string], OutboxRow>('SELECT * FROM apkt_records WHERE id = ?'),
      requeue: db.prepare(`UPDATE apkt_records SET status = 'pending', next_attempt_at = ?, claimed_by = NULL, claimed_until = NULL WHERE id = ? AND status = 'dead'`),
      // Keyset pages (seq > the last one seen): an export never holds a read open
      // across awaits, so the writer is never kept waiting on it.
      pageAll: db.prepare<[number, number], OutboxRow>('SELECT * FROM apkt_records WHERE seq > ? ORDER BY seq LIMIT ?'),
      pageBy: db.prepare<[OutboxStatus, number, number], OutboxRow>('SELECT * FROM apkt_records WHERE status = ? AND seq > ? ORDER BY seq LIMIT ?')
    }
  }

  get open (): boolean { return this.db.open }

  close (): void { this.file.close() }

  /** Runs `jobs` in order; one outcome per job. */
  run (jobs: readonly Job[]): Outcome[] {
    const out: Outcome[] = new Array(jobs.length)
    let i = 0
    while (i < jobs.length) {
      const job = jobs[i] as Job
      if (!isWrite(job)) { out[i] = this.attempt(job); i++; continue }
      let j = i + 1
      while (j < jobs.length && isWrite(jobs[j] as Job)) j++
      this.group(jobs, i, j, out)
      i = j
    }
    return out
  }

  private attempt (job: Job): Outcome {
    try { return { ok: true, value: this.exec(job) } } catch (error) { return { ok: false, error } }
  }

  private group (jobs: readonly Job[], from: number, to: number, out: Outcome[]): void {
    const db = this.db
    let began = false
    try {
      db.transaction(() => {
        began = true
        for (let k = from; k < to; k++) {
          try {
            out[k] = { ok: true, value: db.transaction(() => this.exec(jobs[k] as Job))() }
          } catch (error) {
            // SQLite rolled the whole transaction back (SQLITE_FULL, IOERR, ...): the
            // savepoints before this one are gone too.
            if (!db.inTransaction) throw error
            out[k] = { ok: false, error }
          }
        }
      }).immediate()
    } catch (error) {
      // BEGIN itself failed (the write lock stayed taken past the busy timeout): one by
      // one would only wait that long again for each, so the group fails as one.
      if (!began || to - from === 1) { for (let k = from; k < to; k++) out[k] = { ok: false, error }; return }
      for (let k = from; k < to; k++) {
        try {
          out[k] = { ok: true, value: db.transaction(() => this.exec(jobs[k] as Job)).immediate() }
        } catch (err) {
          out[k] = { ok: false, error: err }
        }
      }
    }
  }

  private exec (job: Job): unknown {
    switch (job.op) {
      case 'commit': {
        // A commit's report facts go in together at its end (their rollup rows merged),
        // its calls once each, as last saved (superseded.ts says why that is the same).
        const facts: ReportFact[] = []
        for (const c of job.changes) {
          if (c.kind === 'reportFact') facts.push(c.fact)
          else if (c.kind !== 'call') this.apply(c)
        }
        for (const c of lastCallSaves(job.changes)) this.calls.save(c.call)
        if (facts.length > 0) this.reports.record(facts)
        return undefined
      }
      case 'check': this.file.check(); return undefined
      case 'claimDue': return this.claimDue(job)
      case 'settleAndClaim':
        for (const r of job.results) this.settle(r)
        return job.claim === undefined ? [] : this.claimDue(job.claim)
      case 'releaseAll': this.stmt.releaseAll.run(); return undefined
      case 'release': this.settle({ kind: 'released', ...job }); return undefined
      case 'markDelivered': this.settle({ kind: 'delivered', ...job }); return undefined
      case 'markFailed': this.settle({ kind: 'failed', ...job }); return undefined
      case 'markDead': this.settle({ kind: 'dead', ...job }); return undefined
      case 'retry': {
        const row = this.stmt.byId.get(job.id)
        if (row === undefined) throw new OutboxError('RECORD_NOT_FOUND', `no APKT record ${job.id}`)
        if (row.status !== 'dead') throw new OutboxError('RECORD_NOT_DEAD', `APKT record ${job.id} is ${row.status}; only a dead record can be retried`)
        this.stmt.requeue.run(job.now, job.id)
        return toOutboxEntry({ ...row, status: 'pending', next_attempt_at: job.now })
      }
      case 'callGet': return this.calls.get(job.callId)
      case 'callsUnfinished': return this.calls.loadUnfinished()
      case 'acwAll': return this.acw.all()
      case 'sessionsAll': return this.stmt.sessionsAll.all().map(toAgentSession)
      case 'auditList': return this.audit.list({ ...(job.before !== undefined ? { before: job.before } : {}), ...(job.limit !== undefined ? { limit: job.limit } : {}) })
      case 'outboxGet': return this.outbox.get(job.id)
      case 'outboxList': return this.outbox.list({ ...(job.status !== undefined ? { status: job.status } : {}), ...(job.limit !== undefined ? { limit: job.limit } : {}) })
      case 'outboxPage': {
        const rows = job.status === undefined ? this.stmt.pageAll.all(job.afterSeq, job.limit) : this.stmt.pageBy.all(job.status, job.afterSeq, job.limit)
        return { entries: rows.map(toOutboxEntry), lastSeq: rows.at(-1)?.seq ?? job.afterSeq }
      }
      case 'outboxStats': return this.outbox.stats(new Date(job.now))
      case 'countOld': return this.retention.countOld(job.table, job.cutoff)
      case 'agentsAll': return this.agents.all()
      case 'agentTokens': return this.agents.tokens()
      case 'agentsVersion': return this.agents.version()
      case 'reportSummary': return this.reports.summary({ from: new Date(job.from), to: new Date(job.to), interval: job.interval, serviceLevelSeconds: job.serviceLevelSeconds })
      case 'reportAgents': return this.reports.agents({ from: new Date(job.from), to: new Date(job.to) })
      case 'deleteBatch': return this.retention.deleteBatch(job.table, job.cutoff, job.limit, job.after)
    }
  }

  private claimDue (claim: ClaimData): OutboxEntry[] {
    if (claim.limit <= 0) return [] // a negative LIMIT is no limit in SQLite
    const until = new Date(Date.parse(claim.now) + claim.leaseMs).toISOString()
    const rows = this.stmt.due.all({ now: claim.now, limit: claim.limit })
    for (const r of rows) this.stmt.claim.run(claim.owner, until, r.seq)
    return rows.map(toOutboxEntry)
  }

  private settle (r: ResultData): void {
    switch (r.kind) {
      case 'delivered': this.stmt.delivered.run(r.at, r.id); return
      case 'failed': this.stmt.failed.run(clipError(r.error), r.nextAttemptAt, r.id); return
      case 'dead': this.stmt.dead.run(r.attempted ? 1 : 0, clipError(r.error), r.id); return
      case 'released': this.stmt.release.run(r.id, r.owner)
    }
  }

  private apply (c: Change): void {
    switch (c.kind) {
      case 'call': this.calls.save(c.call); return // (exec saves a commit's calls itself, once each)
      case 'acw': this.acw.save(c.entry); return
      case 'acwEnded': this.acw.delete(c.agentId); return
      case 'agentSession': this.stmt.sessionSave.run(...sessionValues(c.session, new Date().toISOString())); return
      case 'agentSessionEnded': this.stmt.sessionDelete.run(c.agentId); return
      case 'audit': this.stmt.audit.run(c.at, c.entry.actor, c.entry.role, c.entry.action, c.entry.target, JSON.stringify(c.entry.details ?? {})); return
      case 'apktRecord': this.outbox.add(c.record, c.outcomeKey, new Date(c.at)); return
      case 'agent': case 'agentRemoved': case 'agentToken': case 'agentTokensRevoked': this.agents.apply(c); return
      case 'reportFact': this.reports.record([c.fact]); return
    }
  }
}
