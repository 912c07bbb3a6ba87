// The audit trail in the store: entries written through the journal (so a transfer's
// entry commits with its outcome when written inside it), pages read by query.
import type { AuditEntry, AuditLog, AuditRow } from '../audit/log.ts'
import type { Journal } from './journal.ts'
import type { AuditQueries } from './port.ts'

export class JournaledAuditLog implements AuditLog {
  constructor (
    private readonly journal: Journal,
    private readonly queries: AuditQueries,
    private readonly now: () => Date = () => new Date()
  ) {}

  record (entry: AuditEntry): void {
    void this.journal.add({ kind: 'audit', entry, at: this.now().toISOString() })
  }

  /** Reads this instance's own entries too: what was recorded before the read is written first (unless the store is away). */
  async list (opts: { before?: number, limit?: number } = {}): Promise<AuditRow[]> {
    if (this.journal.healthy) await this.journal.flushed()
    return await this.queries.list(opts)
  }
}
