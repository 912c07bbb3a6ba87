// ACW deadlines in SQLite, so a restart keeps paused agents paused until their
// original deadline and no agent is left paused by a forgotten timer.
import type { AcwEntry } from '../acw/types.ts'
import type { Db } from './sqlite.ts'
import { toAcwEntry, type AcwRow } from './rows.ts'


export class SqliteAcwRepository {
  private readonly stmt

  constructor (db: Db) {
    this.stmt = {
      all: db.prepare<[], AcwRow>('SELECT * FROM acw ORDER BY started_at'),
      get: db.prepare<[string], AcwRow>('SELECT * FROM acw WHERE agent_id = ?'),
      save: db.prepare(`INSERT INTO acw (agent_id, call_id, started_at, ends_at, state, seconds, interface, pause_reason, updated_at)
        VALUES (@agentId, @callId, @startedAt, @endsAt, @state, @seconds, @interface, @pauseReason, @now)
        ON CONFLICT(agent_id) DO UPDATE SET call_id = excluded.call_id, started_at = excluded.started_at, ends_at = excluded.ends_at,
          state = excluded.state, seconds = excluded.seconds, interface = excluded.interface, pause_reason = excluded.pause_reason,
          updated_at = excluded.updated_at`),
      del: db.prepare('DELETE FROM acw WHERE agent_id = ?')
    }
  }

  all (): AcwEntry[] { return this.stmt.all.all().map(toAcwEntry) }
  get (agentId: string): AcwEntry | undefined { const r = this.stmt.get.get(agentId); return r === undefined ? undefined : toAcwEntry(r) }
  save (e: AcwEntry): void {
    this.stmt.save.run({ agentId: e.agentId, callId: e.callId ?? null, startedAt: e.startedAt, endsAt: e.endsAt ?? null, state: e.state, seconds: e.seconds, interface: e.interface ?? null, pauseReason: e.pauseReason ?? null, now: new Date().toISOString() })
  }

  delete (agentId: string): void { this.stmt.del.run(agentId) }
}
