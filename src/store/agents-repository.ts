// Agents and agent tokens in SQLite (migration 11): the statements the engine runs for
// the agent Changes and the agents queries. Every change bumps agents_version in
// service_meta within the same transaction (the engine's savepoint).
import type { AgentToken } from '../agents/types.ts'
import type { Change, StoredAgent } from './port.ts'
import type { Db } from './sqlite.ts'
import { toAgent, toAgentToken, type AgentRow, type AgentTokenRow } from './rows.ts'

type AgentChange = Extract<Change, { kind: 'agent' | 'agentRemoved' | 'agentToken' | 'agentTokensRevoked' }>

export class SqliteAgentsRepository {
  private readonly stmt

  constructor (db: Db) {
    this.stmt = {
      all: db.prepare<[], AgentRow>('SELECT agent_id, data, from_config FROM agents ORDER BY agent_id'),
      tokens: db.prepare<[], AgentTokenRow>(`SELECT t.digest, t.agent_id, t.name, t.created_at FROM agent_tokens t
        JOIN agents a ON a.agent_id = t.agent_id WHERE t.revoked_at IS NULL ORDER BY t.created_at, t.digest`),
      version: db.prepare<[], { value: string }>("SELECT value FROM service_meta WHERE key = 'agents_version'"),
      bump: db.prepare(`INSERT INTO service_meta (key, value, updated_at) VALUES ('agents_version', '1', ?)
        ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT), updated_at = excluded.updated_at`),
      save: db.prepare(`INSERT INTO agents (agent_id, data, from_config, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (agent_id) DO UPDATE SET data = excluded.data, from_config = excluded.from_config, updated_at = excluded.updated_at`),
      remove: db.prepare('DELETE FROM agents WHERE agent_id = ?'),
      token: db.prepare('INSERT INTO agent_tokens (digest, agent_id, name, created_at) VALUES (?, ?, ?, ?)'),
      revokeAll: db.prepare('UPDATE agent_tokens SET revoked_at = ? WHERE agent_id = ? AND revoked_at IS NULL'),
      revokeOthers: db.prepare('UPDATE agent_tokens SET revoked_at = ? WHERE agent_id = ? AND revoked_at IS NULL AND digest <> ?')
    }
  }

  all (): StoredAgent[] { return this.stmt.all.all().map(toAgent) }
  tokens (): AgentToken[] { return this.stmt.tokens.all().map(toAgentToken) }
  version (): number { return Number(this.stmt.version.get()?.value ?? 0) }

  apply (c: AgentChange): void {
    switch (c.kind) {
      case 'agent': this.stmt.save.run(c.agent.id, JSON.stringify(c.agent), c.fromConfig === true ? 1 : 0, c.at, c.at); break
      case 'agentRemoved':
        this.stmt.remove.run(c.agentId)
        this.stmt.revokeAll.run(c.at, c.agentId)
        break
      case 'agentToken': this.stmt.token.run(c.token.digest, c.token.agentId, c.token.name, c.at); break
      case 'agentTokensRevoked':
        if (c.except === undefined) this.stmt.revokeAll.run(c.at, c.agentId)
        else this.stmt.revokeOthers.run(c.at, c.agentId, c.except)
        break
    }
    this.stmt.bump.run(c.at)
  }
}
