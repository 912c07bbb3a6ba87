// Schema changes, applied in order inside one transaction each and recorded in
// schema_migrations. Append only: a released migration is never edited.
export interface Migration {
  version: number
  name: string
  /** SQLite */
  sql: string
  /** PostgreSQL: the same change in its dialect (src/store/postgres/) */
  postgres?: string
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'service metadata',
    sql: `CREATE TABLE service_meta (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL,
      updated_at TEXT NOT NULL
    ) STRICT;`
  },
  {
    version: 2,
    name: 'calls',
    sql: `CREATE TABLE calls (
      call_id TEXT PRIMARY KEY,
      state TEXT NOT NULL,
      agent_id TEXT,
      data TEXT NOT NULL,
      updated_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX calls_state ON calls (state);
    CREATE INDEX calls_agent ON calls (agent_id, updated_at);`
  },
  {
    version: 4,
    name: 'after-call work',
    sql: `CREATE TABLE acw (
      agent_id TEXT PRIMARY KEY,
      call_id TEXT,
      started_at TEXT NOT NULL,
      ends_at TEXT,
      state TEXT NOT NULL CHECK (state IN ('holding', 'active', 'ending')),
      seconds INTEGER NOT NULL,
      updated_at TEXT NOT NULL
    ) STRICT;`
  },
  {
    version: 5,
    name: 'audit log',
    sql: `CREATE TABLE audit (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      at TEXT NOT NULL,
      actor TEXT NOT NULL,
      role TEXT NOT NULL,
      action TEXT NOT NULL,
      target TEXT NOT NULL,
      details TEXT NOT NULL
    ) STRICT;
    CREATE INDEX audit_at ON audit (at);`
  },
  {
    version: 7,
    name: 'after-call work: the interface and pause reason an ACW paused with',
    sql: `ALTER TABLE acw ADD COLUMN interface TEXT;
    ALTER TABLE acw ADD COLUMN pause_reason TEXT;`
  },
  {
    version: 8,
    name: 'calls closed at',
    // When a call stopped changing, for retention (src/retention/): its end, or for a
    // transferred call whose end was never seen, its last change. NULL while the call
    // is live, so no purge can take it. Indexed (only closed calls) so a purge pass
    // reads just the rows it deletes, not every call of the last 400 days.
    sql: `ALTER TABLE calls ADD COLUMN closed_at TEXT;
    UPDATE calls SET closed_at = COALESCE(json_extract(data, '$.endedAt'), updated_at) WHERE state IN ('ended', 'transferred');
    CREATE INDEX calls_closed ON calls (closed_at) WHERE closed_at IS NOT NULL;`
  }
]
