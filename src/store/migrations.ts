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
  }
]
