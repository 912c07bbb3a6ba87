// Schema changes, applied in order inside one transaction each and recorded in
// schema_migrations. Append only: a released migration is never edited.
export interface Migration { version: number, name: string, sql: string }

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
  }
]
