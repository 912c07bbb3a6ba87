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
  }
]
