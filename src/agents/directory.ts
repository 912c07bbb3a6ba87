// The live set of agents (CONTRACT.md section 7): the config's `agents`, which win for
// the ids they list, plus the agents kept in the store (created by the admin API or the
// CLI, here or on another instance of the group), and the agent tokens issued at run
// time (digests only). Everything that used to read `config.agents` follows it: the
// tracker, ACW, the APKT record, the views and the auth lookup, by listening to
// added / changed / removed.
//
// Changes reach it two ways: this instance's own admin changes once their commit is
// durable (put, remove, addToken, revokeTokens), and a reload from the store (load)
// when the store's agents version moved (another instance, the CLI). `generation`
// counts the local changes, so a reload read before one of them does not undo it.
import { EventEmitter } from 'node:events'
import { cleanAgent, sameAgent, type Agent, type AgentToken } from './types.ts'

interface DirectoryEvents {
  added: [agent: Agent]
  changed: [agent: Agent, before: Agent]
  removed: [agent: Agent]
}

export class AgentDirectory extends EventEmitter<DirectoryEvents> {
  private readonly agents = new Map<string, Agent>()
  private readonly configured: ReadonlyMap<string, Agent>
  private readonly tokens = new Map<string, AgentToken>()
  private gen = 0

  constructor (configAgents: readonly Agent[]) {
    super()
    this.configured = new Map(configAgents.map(a => [a.id, cleanAgent(a)]))
    for (const a of this.configured.values()) this.agents.set(a.id, a)
  }

  /** Bumped by every local change (see load). */
  get generation (): number { return this.gen }

  /** The config's agents, as they are upserted into the store at start. */
  configAgents (): Agent[] { return [...this.configured.values()] }

  all (): Agent[] { return [...this.agents.values()] }
  ids (): string[] { return [...this.agents.keys()] }
  get (agentId: string): Agent | undefined { return this.agents.get(agentId) }
  has (agentId: string): boolean { return this.agents.has(agentId) }
  /** Listed in the config file: changed and removed there only. */
  inConfig (agentId: string): boolean { return this.configured.has(agentId) }

  /** An active run-time token by its digest (undefined when unknown or revoked). */
  token (digest: string): AgentToken | undefined { return this.tokens.get(digest) }
  tokenCount (): number { return this.tokens.size }

  /** The store's picture replaces what is known; the config's agents win over the store's copy. */
  load (stored: readonly Agent[], tokens: readonly AgentToken[]): void {
    const next = new Map<string, Agent>()
    for (const a of stored) next.set(a.id, cleanAgent(a))
    for (const a of this.configured.values()) next.set(a.id, a)
    for (const [id, before] of [...this.agents]) if (!next.has(id)) this.drop(id, before)
    for (const a of next.values()) this.set(a)
    this.tokens.clear()
    for (const t of tokens) if (this.agents.has(t.agentId)) this.tokens.set(t.digest, t)
  }

  /** This instance created or changed an agent (its commit is durable). */
  put (agent: Agent): void {
    this.gen++
    this.set(cleanAgent(agent))
  }

  /** This instance removed an agent (its tokens with it). */
  remove (agentId: string): void {
    this.gen++
    const before = this.agents.get(agentId)
    if (before !== undefined) this.drop(agentId, before)
  }

  addToken (token: AgentToken): void {
    this.gen++
    if (this.agents.has(token.agentId)) this.tokens.set(token.digest, token)
  }

  /** Revokes the agent's tokens, except the one with digest `except`. */
  revokeTokens (agentId: string, except?: string): void {
    this.gen++
    for (const [d, t] of [...this.tokens]) if (t.agentId === agentId && d !== except) this.tokens.delete(d)
  }

  private set (agent: Agent): void {
    const before = this.agents.get(agent.id)
    if (before !== undefined && sameAgent(before, agent)) return
    this.agents.set(agent.id, agent)
    if (before === undefined) this.emit('added', agent)
    else this.emit('changed', agent, before)
  }

  private drop (agentId: string, before: Agent): void {
    this.agents.delete(agentId)
    for (const [d, t] of [...this.tokens]) if (t.agentId === agentId) this.tokens.delete(d)
    this.emit('removed', before)
  }
}
