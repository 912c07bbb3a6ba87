// An agent's shift as the service records it (CONTRACT.md section 7): logged in at a
// phone (the member interface of today) in some queues, maybe paused for a reason, and
// the status asked for while on a call or in ACW (applied when ACW ends, never earlier).

/** What the agent asked for while it could not be done yet. */
export type NextStatus = { paused: true, reason: string } | { logout: true }

export interface AgentSession {
  agentId: string
  /** the member interface QueueAdd used (the phone the agent sits at today) */
  interface: string
  /** the queues the agent was added to (what logout removes it from) */
  queues: string[]
  /** when the login was made */
  since: string
  /** the pause reason while paused (ours or reflected from Asterisk), with its start */
  pauseReason?: string
  pausedSince?: string
  next?: NextStatus
}

/**
 * Logged-in agents: read from memory (the tracker and ACW ask for an agent's interface
 * on every event), written through the journal in order; load() fills memory at start.
 */
export interface SessionRepository {
  load: () => Promise<void>
  all: () => AgentSession[]
  get: (agentId: string) => AgentSession | undefined
  save: (s: AgentSession) => Promise<void>
  delete: (agentId: string) => Promise<void>
}

/** A repository in memory only: unit tests, and the bench's trackers. */
export class MemorySessionRepository implements SessionRepository {
  private readonly sessions = new Map<string, AgentSession>()
  async load (): Promise<void> {}
  all (): AgentSession[] { return [...this.sessions.values()] }
  get (agentId: string): AgentSession | undefined { return this.sessions.get(agentId) }
  async save (s: AgentSession): Promise<void> { this.sessions.set(s.agentId, s) }
  async delete (agentId: string): Promise<void> { this.sessions.delete(agentId) }
}
