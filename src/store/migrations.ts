// Schema changes, applied in order inside one transaction each and recorded in
// schema_migrations. Append only: a released migration is never edited.
//
// Each has its SQLite SQL and the same schema in PostgreSQL's dialect (src/store/postgres/).
// PostgreSQL keeps times as the same UTC ISO-8601 text (toISOString(), fixed width, so
// they sort as text; COLLATE "C" makes that byte order whatever the database's locale):
// both engines give back identical rows and strings, every time in the store is written
// by the service's clock, and nothing asks SQL for date arithmetic (timestamptz would
// come back as a Date, to convert at every read). A call's data and an audit entry's
// details are jsonb (unfinished() and operators query them; key order is not kept and
// nothing depends on it); sequences are bigint identity columns.
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
    ) STRICT;`,
    postgres: `CREATE TABLE service_meta (
      key text PRIMARY KEY,
      value text NOT NULL,
      updated_at text COLLATE "C" NOT NULL
    );`
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
    CREATE INDEX calls_agent ON calls (agent_id, updated_at);`,
    postgres: `CREATE TABLE calls (
      call_id text PRIMARY KEY,
      state text NOT NULL,
      agent_id text,
      data jsonb NOT NULL,
      updated_at text COLLATE "C" NOT NULL
    );
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
    ) STRICT;`,
    postgres: `CREATE TABLE acw (
      agent_id text PRIMARY KEY,
      call_id text,
      started_at text COLLATE "C" NOT NULL,
      ends_at text COLLATE "C",
      state text NOT NULL CHECK (state IN ('holding', 'active', 'ending')),
      seconds integer NOT NULL,
      updated_at text COLLATE "C" NOT NULL
    );`
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
    CREATE INDEX audit_at ON audit (at);`,
    postgres: `CREATE TABLE audit (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at text COLLATE "C" NOT NULL,
      actor text NOT NULL,
      role text NOT NULL,
      action text NOT NULL,
      target text NOT NULL,
      details jsonb NOT NULL
    );
    CREATE INDEX audit_at ON audit (at);`
  },
  {
    version: 7,
    name: 'after-call work: the interface and pause reason an ACW paused with',
    sql: `ALTER TABLE acw ADD COLUMN interface TEXT;
    ALTER TABLE acw ADD COLUMN pause_reason TEXT;`,
    postgres: `ALTER TABLE acw ADD COLUMN interface text;
    ALTER TABLE acw ADD COLUMN pause_reason text;`
  },
  {
    version: 8,
    name: 'calls closed at',
    // When a call stopped changing, for retention (src/retention/): its end, or for a
    // transferred call whose end was never seen, its last change. NULL while the call
    // is live, so no purge can take it. Indexed (only closed calls) so a purge pass
    // reads just the rows it deletes, not every call of the last 400 days.
    // PostgreSQL: (closed_at, call_id), the purge's keyset (it has no stable rowid); and
    // the calls a restart recovers (calls.unfinished(), the same condition), so recovery
    // reads the few live calls, not every transferred call of the retention period.
    sql: `ALTER TABLE calls ADD COLUMN closed_at TEXT;
    UPDATE calls SET closed_at = COALESCE(json_extract(data, '$.endedAt'), updated_at) WHERE state IN ('ended', 'transferred');
    CREATE INDEX calls_closed ON calls (closed_at) WHERE closed_at IS NOT NULL;`,
    postgres: `ALTER TABLE calls ADD COLUMN closed_at text COLLATE "C";
    UPDATE calls SET closed_at = COALESCE(data->>'endedAt', updated_at) WHERE state IN ('ended', 'transferred');
    CREATE INDEX calls_closed ON calls (closed_at, call_id) WHERE closed_at IS NOT NULL;
    CREATE INDEX calls_unfinished ON calls (call_id)
      WHERE state IN ('offered', 'connected', 'transferring') OR (state = 'transferred' AND data->>'endedAt' IS NULL);`
  },
  {
    version: 11,
    name: 'agents and agent tokens at run time',
    // CONTRACT.md section 7. An agent's fields are one JSON document (they follow the
    // Agent type; nothing queries inside them); from_config marks the config file's
    // agents, so one taken out of the file is removed at the next start. A token is kept as its SHA-256 digest
    // only. service_meta's agents_version is bumped with every change to either table,
    // in the same transaction, so another process notices with one cheap read.
    sql: `CREATE TABLE agents (
      agent_id TEXT PRIMARY KEY,
      data TEXT NOT NULL,
      from_config INTEGER NOT NULL DEFAULT 0 CHECK (from_config IN (0, 1)),
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    ) STRICT;
    CREATE TABLE agent_tokens (
      digest TEXT PRIMARY KEY,
      agent_id TEXT NOT NULL,
      name TEXT NOT NULL,
      created_at TEXT NOT NULL,
      revoked_at TEXT
    ) STRICT;
    CREATE INDEX agent_tokens_agent ON agent_tokens (agent_id) WHERE revoked_at IS NULL;`,
    postgres: `CREATE TABLE agents (
      agent_id text PRIMARY KEY,
      data jsonb NOT NULL,
      from_config boolean NOT NULL DEFAULT false,
      created_at text COLLATE "C" NOT NULL,
      updated_at text COLLATE "C" NOT NULL
    );
    CREATE TABLE agent_tokens (
      digest text PRIMARY KEY,
      agent_id text NOT NULL,
      name text NOT NULL,
      created_at text COLLATE "C" NOT NULL,
      revoked_at text COLLATE "C"
    );
    CREATE INDEX agent_tokens_agent ON agent_tokens (agent_id) WHERE revoked_at IS NULL;`
  },
  {
    version: 12,
    name: 'agent sessions',
    // One row per logged-in agent (CONTRACT.md section 7): what an Asterisk restart adds
    // back and a service restart loads. queues and next are JSON text on both engines
    // (read whole, never queried). The unique interface is the last word on
    // INTERFACE_IN_USE when two instances of a group log two agents in at once.
    sql: `CREATE TABLE agent_sessions (
      agent_id TEXT PRIMARY KEY,
      interface TEXT NOT NULL,
      queues TEXT NOT NULL,
      since TEXT NOT NULL,
      pause_reason TEXT,
      paused_since TEXT,
      next TEXT,
      updated_at TEXT NOT NULL
    ) STRICT;
    CREATE UNIQUE INDEX agent_sessions_interface ON agent_sessions (lower(interface));`,
    postgres: `CREATE TABLE agent_sessions (
      agent_id text PRIMARY KEY,
      interface text NOT NULL,
      queues text NOT NULL,
      since text COLLATE "C" NOT NULL,
      pause_reason text,
      paused_since text COLLATE "C",
      next text,
      updated_at text COLLATE "C" NOT NULL
    );
    CREATE UNIQUE INDEX agent_sessions_interface ON agent_sessions (lower(interface));`
  },
  {
    version: 13,
    name: 'HA group: the lease and the roll call',
    // PostgreSQL only (an HA group shares one PostgreSQL database; an SQLite store has
    // one instance, which is never fenced). timestamptz here, against the rule above: a
    // lease's expiry is judged by the database's clock, the one every instance shares.
    sql: 'SELECT 1; -- PostgreSQL only: see src/store/postgres/lease.ts',
    postgres: `CREATE TABLE ha_lease (
      name text PRIMARY KEY,
      holder text,
      epoch bigint NOT NULL,
      expires_at timestamptz NOT NULL
    );
    CREATE TABLE ha_instances (
      instance_id text PRIMARY KEY,
      role text NOT NULL CHECK (role IN ('active', 'standby')),
      advertise_url text,
      last_seen_at timestamptz NOT NULL
    );`
    },
  {
    version: 14,
    name: 'reports: facts and their rollups',
    // CONTRACT.md section 8 (src/store/report-rollups.ts says what each holds). The facts
    // are kept as they happened (audit, retention by `at`); the reports read only the
    // rollups, which each fact's commit adds to (upserts), so a month of a large center
    // reads a few thousand rows. (The outbox's index for the summary's APKT counts is
    // src/apkt/migrations.ts's version 15.)
    sql: `CREATE TABLE report_facts (
      id TEXT PRIMARY KEY,
      kind TEXT NOT NULL,
      at TEXT NOT NULL,
      counts_at TEXT NOT NULL,
      call_id TEXT,
      agent_id TEXT,
      key TEXT,
      seconds REAL
    ) STRICT;
    CREATE INDEX report_facts_at ON report_facts (at);
    CREATE TABLE report_hourly (
      bucket TEXT NOT NULL,
      metric TEXT NOT NULL,
      key TEXT NOT NULL,
      n INTEGER NOT NULL,
      seconds REAL NOT NULL,
      PRIMARY KEY (bucket, metric, key)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE report_agent_daily (
      day TEXT NOT NULL,
      agent_id TEXT NOT NULL,
      metric TEXT NOT NULL,
      key TEXT NOT NULL,
      n INTEGER NOT NULL,
      seconds REAL NOT NULL,
      PRIMARY KEY (day, agent_id, metric, key)
    ) STRICT, WITHOUT ROWID;`,
    postgres: `CREATE TABLE report_facts (
      id text PRIMARY KEY,
      kind text NOT NULL,
      at text COLLATE "C" NOT NULL,
      counts_at text COLLATE "C" NOT NULL,
      call_id text,
      agent_id text,
      key text,
      seconds double precision
    );
    CREATE INDEX report_facts_at ON report_facts (at);
    CREATE TABLE report_hourly (
      bucket text COLLATE "C" NOT NULL,
      metric text COLLATE "C" NOT NULL,
      key text COLLATE "C" NOT NULL,
      n bigint NOT NULL,
      seconds double precision NOT NULL,
      PRIMARY KEY (bucket, metric, key)
    );
    CREATE TABLE report_agent_daily (
      day text COLLATE "C" NOT NULL,
      agent_id text COLLATE "C" NOT NULL,
      metric text COLLATE "C" NOT NULL,
      key text COLLATE "C" NOT NULL,
      n bigint NOT NULL,
      seconds double precision NOT NULL,
      PRIMARY KEY (day, agent_id, metric, key)
    );`
  }
]
