// Calls in SQLite: one row per call, the call as JSON plus the columns we query by.
import type { Call } from '../calls/types.ts'
import type { Db } from './sqlite.ts'

export class SqliteCallRepository {
  private readonly upsert
  private readonly byId
  private readonly unfinished

  constructor (private readonly db: Db) {
    this.upsert = db.prepare(`INSERT INTO calls (call_id, state, agent_id, data, updated_at, closed_at) VALUES (@callId, @state, @agentId, @data, @updatedAt, @closedAt)
      ON CONFLICT(call_id) DO UPDATE SET state = excluded.state, agent_id = excluded.agent_id, data = excluded.data, updated_at = excluded.updated_at, closed_at = excluded.closed_at`)
    this.byId = db.prepare('SELECT data FROM calls WHERE call_id = ?')
    this.unfinished = db.prepare("SELECT data FROM calls WHERE state IN ('offered', 'connected', 'transferring') OR (state = 'transferred' AND json_extract(data, '$.endedAt') IS NULL)")
  }

  save (call: Call): void {
    const now = new Date().toISOString()
    // Retention's clock (migration 7): NULL while the call is live, so a purge never takes it.
    const closedAt = call.state === 'ended' || call.state === 'transferred' ? call.endedAt ?? now : null
    this.upsert.run({ callId: call.callId, state: call.state, agentId: call.agentId ?? null, data: JSON.stringify(call), updatedAt: now, closedAt })
  }

  get (callId: string): Call | undefined {
    const row = this.byId.get(callId) as { data: string } | undefined
    return row === undefined ? undefined : JSON.parse(row.data) as Call
  }

  loadUnfinished (): Call[] {
    return (this.unfinished.all() as Array<{ data: string }>).map(r => JSON.parse(r.data) as Call)
  }

  transaction<T> (fn: () => T): T {
    return this.db.transaction(fn)()
  }
}
