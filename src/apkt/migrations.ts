// The APKT outbox's schema (versions 3, 6, 9, 10 and 15; the others belong to the store and
// other features). Append only, like src/store/migrations.ts: a released migration is never
// edited, a change is a new version.
import type { Migration } from '../store/migrations.ts'

export const apktMigrations: Migration[] = [
  {
    version: 3,
    name: 'apkt outbox',
    // seq gives creation order (delivery order per agent); outcome_key is UNIQUE so
    // one call outcome can never yield a second record, whoever writes it twice.
    // Times are UTC ISO-8601 with milliseconds: they sort as text (PostgreSQL too: the
    // body is kept as text, byte for byte the record that is posted).
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
    CREATE INDEX apkt_records_status ON apkt_records (status, seq);`,
    postgres: `CREATE TABLE apkt_records (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      id text NOT NULL UNIQUE,
      outcome_key text NOT NULL UNIQUE,
      agent_id text NOT NULL,
      call_id text NOT NULL,
      status text NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
      attempts integer NOT NULL DEFAULT 0,
      last_error text,
      next_attempt_at text COLLATE "C",
      created_at text COLLATE "C" NOT NULL,
      delivered_at text COLLATE "C",
      body text NOT NULL
    );
    CREATE INDEX apkt_records_pending_by_agent ON apkt_records (agent_id, seq) WHERE status = 'pending';
    CREATE INDEX apkt_records_status ON apkt_records (status, seq);`
  },
  {
    version: 6,
    name: 'apkt outbox counts',
    // The outbox's counts by status, kept by triggers in the same transaction as each
    // change. COUNT(*) ... GROUP BY status read every record ever written (4 ms at
    // 100,000 records, 14 ms at 300,000), twice per call (the live feed after each
    // outcome and each delivery) and on every metrics scrape. Triggers, not counters in
    // the process: the CLI writes to the same file, and the counts stay exact.
    //
    // PostgreSQL: the same exact, transactional counts without a counter row. A row per
    // status that every outbox write of the whole HA group updates would be one hot row
    // locked until each commit (the group's writes queue on it), and the update trigger
    // locks two of them in transition order (pending then dead for markDead, dead then
    // pending for a retry): a deadlock waiting to happen. Here each statement's trigger
    // (transition tables: one insert per statement, not per row, so a purge batch adds
    // one row per status) appends its deltas, and appends never wait on each other. The
    // counts are their sums (the apkt_counts view, for operators); the store folds the
    // deltas into one row per status now and then (src/store/postgres/outbox.ts).
    // Counting the records at read instead costs O(records): 300,000 delivered took
    // 120-200 ms on the (loaded) test machine, even as an index-only scan.
    sql: `CREATE TABLE apkt_counts (
      status TEXT PRIMARY KEY CHECK (status IN ('pending', 'delivered', 'dead')),
      n INTEGER NOT NULL
    ) STRICT;
    INSERT INTO apkt_counts (status, n)
      SELECT s.status, (SELECT COUNT(*) FROM apkt_records r WHERE r.status = s.status)
      FROM (SELECT 'pending' AS status UNION ALL SELECT 'delivered' UNION ALL SELECT 'dead') s;
    CREATE TRIGGER apkt_counts_insert AFTER INSERT ON apkt_records BEGIN
      UPDATE apkt_counts SET n = n + 1 WHERE status = NEW.status;
    END;
    CREATE TRIGGER apkt_counts_update AFTER UPDATE OF status ON apkt_records WHEN OLD.status <> NEW.status BEGIN
      UPDATE apkt_counts SET n = n - 1 WHERE status = OLD.status;
      UPDATE apkt_counts SET n = n + 1 WHERE status = NEW.status;
    END;
    CREATE TRIGGER apkt_counts_delete AFTER DELETE ON apkt_records BEGIN
      UPDATE apkt_counts SET n = n - 1 WHERE status = OLD.status;
    END;`,
    postgres: `CREATE TABLE apkt_count_deltas (
      status text NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
      n bigint NOT NULL
    );
    INSERT INTO apkt_count_deltas (status, n) SELECT status, count(*) FROM apkt_records GROUP BY status;
    CREATE FUNCTION apkt_count_inserted () RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO apkt_count_deltas (status, n) SELECT status, count(*) FROM new_rows GROUP BY status;
      RETURN NULL;
    END $$;
    CREATE FUNCTION apkt_count_deleted () RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO apkt_count_deltas (status, n) SELECT status, -count(*) FROM old_rows GROUP BY status;
      RETURN NULL;
    END $$;
    CREATE FUNCTION apkt_count_updated () RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO apkt_count_deltas (status, n)
        SELECT status, sum(d) FROM (
          SELECT o.status, -1 AS d FROM old_rows o JOIN new_rows n USING (seq) WHERE o.status <> n.status
          UNION ALL
          SELECT n.status, 1 FROM old_rows o JOIN new_rows n USING (seq) WHERE o.status <> n.status
        ) c GROUP BY status;
      RETURN NULL;
    END $$;
    CREATE TRIGGER apkt_counts_insert AFTER INSERT ON apkt_records REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION apkt_count_inserted();
    CREATE TRIGGER apkt_counts_delete AFTER DELETE ON apkt_records REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION apkt_count_deleted();
    CREATE TRIGGER apkt_counts_update AFTER UPDATE ON apkt_records REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION apkt_count_updated();
    CREATE VIEW apkt_counts AS
      SELECT s.status, COALESCE((SELECT sum(d.n) FROM apkt_count_deltas d WHERE d.status = s.status), 0)::bigint AS n
      FROM (VALUES ('pending'), ('delivered'), ('dead')) AS s (status);`
  },
  {
    version: 9,
    name: 'apkt retention indexes',
    // For retention (src/retention/): delivered records by delivery time, so a purge
    // reads only what it deletes; and the records still open (pending or dead) by call,
    // so "is this call's record still open?" is one lookup. Both partial: the second
    // holds only the few open records, and neither slows the hot path much.
    sql: `CREATE INDEX apkt_records_delivered_at ON apkt_records (delivered_at) WHERE status = 'delivered';
    CREATE INDEX apkt_records_open_by_call ON apkt_records (call_id) WHERE status <> 'delivered';`,
    postgres: `CREATE INDEX apkt_records_delivered_at ON apkt_records (delivered_at) WHERE status = 'delivered';
    CREATE INDEX apkt_records_open_by_call ON apkt_records (call_id) WHERE status <> 'delivered';`
  },
  {
    version: 10,
    name: 'apkt durable claims',
    // Claims move from the dispatcher's memory into the row (src/store/port.ts
    // OutboxQueries): several dispatchers (an HA group) must never send one record at
    // once, and a dispatcher that died must leave nothing stuck once its lease ran out.
    sql: `ALTER TABLE apkt_records ADD COLUMN claimed_by TEXT;
    ALTER TABLE apkt_records ADD COLUMN claimed_until TEXT;`,
    postgres: `ALTER TABLE apkt_records ADD COLUMN claimed_by text;
    ALTER TABLE apkt_records ADD COLUMN claimed_until text COLLATE "C";`
  },
  {
    version: 15,
    name: 'apkt records by creation time',
    // The reports' summary counts the records made in each hour by their status now
    // (CONTRACT.md section 8): a range of created_at, read from the index alone.
    sql: 'CREATE INDEX apkt_records_created ON apkt_records (created_at, status);',
    postgres: 'CREATE INDEX apkt_records_created ON apkt_records (created_at, status);'
  }
]
