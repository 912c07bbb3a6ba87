// The APKT outbox's schema (version 3; 1 and 2 belong to the store and other
// features). Append only, like src/store/migrations.ts: a released migration is never
// edited, a change is a new version.
import type { Migration } from '../store/migrations.ts'

export const apktMigrations: Migration[] = [
  {
    version: 3,
    name: 'apkt outbox',
    // seq gives creation order (delivery order per agent); outcome_key is UNIQUE so
    // one call outcome can never yield a second record, whoever writes it twice.
    // Times are UTC ISO-8601 with milliseconds: they sort as text.
    sql: `CREATE TABLE apkt_records (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      outcome_key TEXT NOT NULL UNIQUE,
      agent_id TEXT NOT NULL,
      call_id TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
      attempts INTEGER NOT NULL DEFAULT 0,
      last_error TEXT,
      next_attempt_at TEXT,
      created_at TEXT NOT NULL,
      delivered_at TEXT,
      body TEXT NOT NULL
    ) STRICT;
    CREATE INDEX apkt_records_pending_by_agent ON apkt_records (agent_id, seq) WHERE status = 'pending';
    CREATE INDEX apkt_records_status ON apkt_records (status, seq);`
  }
]
