// Who did what, when: consent, transfers, ACW changes, APKT retries. Append only.
export interface AuditEntry {
  actor: string
  role: string
  action: string
  target: string
  details?: Record<string, unknown>
}

/** Writes an entry: into the transaction being collected (e.g. an outcome's), else its own. */
export interface AuditSink { record: (e: AuditEntry) => void }

export interface AuditRow extends Required<AuditEntry> { seq: number, at: string }

export interface AuditLog extends AuditSink {
  /** Newest first; pass the smallest seq seen as `before` for the next page. */
  list: (opts?: { before?: number, limit?: number }) => Promise<AuditRow[]>
}
