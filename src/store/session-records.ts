// Logged-in agents: memory for reads (the tracker and ACW ask for an agent's interface
// synchronously), the journal for writes, so a login lands in the store in the order it
// was made, with its audit entry.
import type { AgentSession, SessionRepository } from '../agents/session.ts'
import type { Journal } from './journal.ts'
import type { SessionQueries } from './port.ts'

export class JournaledSessionRepository implements SessionRepository {
  private readonly sessions = new Map<string, AgentSession>()

  constructor (private readonly journal: Journal, private readonly queries: SessionQueries) {}

  async load (): Promise<void> {
    for (const s of await this.queries.all()) this.sessions.set(s.agentId, s)
  }

  all (): AgentSession[] { return [...this.sessions.values()] }
  get (agentId: string): AgentSession | undefined { return this.sessions.get(agentId) }

  save (s: AgentSession): Promise<void> {
    this.sessions.set(s.agentId, s)
    return this.journal.add({ kind: 'agentSession', session: s })
  }

  delete (agentId: string): Promise<void> {
    this.sessions.delete(agentId)
    return this.journal.add({ kind: 'agentSessionEnded', agentId })
  }
}
