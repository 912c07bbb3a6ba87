// Who did what, when: consent, transfers, ACW changes, APKT retries. Append only.
export interface AuditEntry {
  actor: string
  role: string
  action: string
  target: string
  details?: Record<string, unknown>
}

export interface AuditSink { record: (e: AuditEntry) => void }

export interface AuditRow extends Required<AuditEntry> { seq: number, at: string }
