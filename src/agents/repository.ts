// What the agents feature needs from storage: writes that join one transaction (with the
// audit entry of the same change) and the store's picture to reload from. The real one
// is src/store/agent-records.ts (through the journal in the service, straight to the
// store in the CLI).
import type { Agent, AgentToken } from './types.ts'

export interface AgentRepository {
  /**
   * Runs fn (synchronously): every write it makes (and an audit entry written inside it)
   * is one transaction. Resolves once that transaction is durable.
   */
  transaction: (fn: () => void) => Promise<void>
  /** `fromConfig`: the config file's agent, written at start (removed at a start whose file no longer lists it). */
  save: (agent: Agent, at: string, fromConfig?: boolean) => void
  /** The agent and every token of it. */
  remove: (agentId: string, at: string) => void
  addToken: (token: Omit<AgentToken, 'createdAt'>, at: string) => void
  /** Every active token of the agent except `except`'s. */
  revokeTokens: (agentId: string, except: string | undefined, at: string) => void
  load: () => Promise<{ agents: Array<Agent & { fromConfig?: true }>, tokens: AgentToken[] }>
  /** Moves with every agent or token change, whoever made it. */
  version: () => Promise<number>
}
