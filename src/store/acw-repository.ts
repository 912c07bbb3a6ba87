// ACW deadlines in SQLite, so a restart keeps paused agents paused until their
// original deadline and no agent is left paused by a forgotten timer.
import type { AcwEntry, AcwRepository } from '../acw/types.ts'
import type { Db } from './sqlite.ts'

interface Row { agent_id: string, call_id: string | null, started_at: string, ends_at: string | null, state: AcwEntry['state'], seconds: number, interface: string | null, pause_reason: string | null }

const toEntry = (r: Row): AcwEntry => ({
  agentId: r.agent_id,
  ...(r.call_id !== null ? { callId: r.call_id } : {}),
  startedAt: r.started_at,
  ...(r.ends_at !== null ? { endsAt: r.ends_at } : {}),
  state: r.state,
  seconds: r.seconds,
  ...(r.interface !== null ? { interface: r.interface } : {}),
  ...(r.pause_reason !== null ? { pauseReason: r.pause_reason } : {})
})

export class SqliteAcwRepository {
  private readonly stmt

  constructor (db: Db) {
    this.stmt = {
      all: db.prepare<[], Row>('SELECT * FROM acw ORDER BY started_at'),
      get: db.prepare<[string], Row>('SELECT * FROM acw WHERE agent_id = ?'),
      save: db.prepare(`INSERT INTO acw (agent_id, call_id, started_at, ends_at, state, seconds, interface, pause_reason, updated_at)
        VALUES (@agentId, @callId, @startedAt, @endsAt, @state, @seconds, @interface, @pauseReason, @now)
        ON CONFLICT(agent_id) DO UPDATE SET call_id = excluded.call_id, started_at = excluded.started_at, ends_at = excluded.ends_at,
          state = excluded.state, seconds = excluded.seconds, interface = excluded.interface, pause_reason = excluded.pause_reason,
          updated_at = excluded.updated_at`),
      del: db.prepare('DELETE FROM acw WHERE agent_id = ?')
    }
  }

  all (): AcwEntry[] { return this.stmt.all.all().map(toEntry) }
  get (agentId: string): AcwEntry | undefined { const r = this.stmt.get.get(agentId); return r === undefined ? undefined : toEntry(r) }
  save (e: AcwEntry): void {
    this.stmt.save.run({ agentId: e.agentId, callId: e.callId ?? null, startedAt: e.startedAt, endsAt: e.endsAt ?? null, state: e.state, seconds: e.seconds, interface: e.interface ?? null, pauseReason: e.pauseReason ?? null, now: new Date().toISOString() })
  }

  delete (agentId: string): void { this.stmt.del.run(agentId) }
}
