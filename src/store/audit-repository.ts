// The audit trail in SQLite.
import type { AuditEntry, AuditRow } from '../audit/log.ts'
import type { Db } from './sqlite.ts'

interface Row { seq: number, at: string, actor: string, role: string, action: string, target: string, details: string }

export class SqliteAuditLog {
  private readonly ins
  private readonly page

  constructor (db: Db, private readonly now: () => Date = () => new Date()) {
    this.ins = db.prepare('INSERT INTO audit (at, actor, role, action, target, details) VALUES (?, ?, ?, ?, ?, ?)')
    this.page = db.prepare<[number, number], Row>('SELECT * FROM audit WHERE seq < ? ORDER BY seq DESC LIMIT ?')
  }

  record (e: AuditEntry): void {
    this.ins.run(this.now().toISOString(), e.actor, e.role, e.action, e.target, JSON.stringify(e.details ?? {}))
  }

  /** Newest first; pass the smallest seq seen as `before` for the next page. */
  list (opts: { before?: number, limit?: number } = {}): AuditRow[] {
    return this.page.all(opts.before ?? Number.MAX_SAFE_INTEGER, opts.limit ?? 100)
      .map(r => ({ seq: r.seq, at: r.at, actor: r.actor, role: r.role, action: r.action, target: r.target, details: JSON.parse(r.details) as Record<string, unknown> }))
  }
}
