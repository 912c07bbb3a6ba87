// Agents and agent tokens in the store, for src/agents/ (AgentRepository). In the
// service the writes go through the journal, so a change and its audit entry commit in
// one transaction in the order made; the CLI, which has no journal, collects them and
// commits them itself (straightStore). Reads are the engine's queries.
import type { AgentRepository } from '../agents/repository.ts'
import type { Agent, AgentToken } from '../agents/types.ts'
import type { AuditEntry, AuditSink } from '../audit/log.ts'
import type { Journal } from './journal.ts'
import type { AgentQueries, Change, Store, StoredAgent } from './port.ts'

/** How writes are batched: the journal's batch(), or a collector committed at once. */
interface Writer {
  transaction: (fn: () => void) => Promise<void>
  add: (change: Change) => void
}

class StoreAgentRepository implements AgentRepository {
  constructor (private readonly writer: Writer, private readonly queries: AgentQueries) {}

  transaction (fn: () => void): Promise<void> { return this.writer.transaction(fn) }
  save (agent: Agent, at: string, fromConfig?: boolean): void { this.writer.add({ kind: 'agent', agent, at, ...(fromConfig === true ? { fromConfig } : {}) }) }
  remove (agentId: string, at: string): void { this.writer.add({ kind: 'agentRemoved', agentId, at }) }
  addToken (token: Omit<AgentToken, 'createdAt'>, at: string): void { this.writer.add({ kind: 'agentToken', token, at }) }
  revokeTokens (agentId: string, except: string | undefined, at: string): void {
    this.writer.add({ kind: 'agentTokensRevoked', agentId, ...(except !== undefined ? { except } : {}), at })
  }

  async load (): Promise<{ agents: StoredAgent[], tokens: AgentToken[] }> {
    const [agents, tokens] = await Promise.all([this.queries.all(), this.queries.tokens()])
    return { agents, tokens }
  }

  async version (): Promise<number> { return await this.queries.version() }
}

/** The service's: through the journal (an audit entry recorded inside the transaction joins it). */
export function journaledAgents (journal: Journal, queries: AgentQueries): AgentRepository {
  return new StoreAgentRepository({
    transaction: fn => journal.batch(fn).saved,
    add: change => { void journal.add(change) }
  }, queries)
}

/**
 * The CLI's: each transaction's changes, and the audit entries recorded meanwhile through
 * the returned sink, committed together straight to the store.
 */
export function straightAgents (store: Store, now: () => Date = () => new Date()): { repo: AgentRepository, audit: AuditSink } {
  let open: Change[] | undefined
  const add = (change: Change): void => {
    if (open === undefined) throw new Error('an agent change outside a transaction')
    open.push(change)
  }
  const repo = new StoreAgentRepository({
    transaction: async fn => {
      open = []
      try { fn() } catch (err) { open = undefined; throw err }
      const changes = open
      open = undefined
      await store.commit(changes)
    },
    add
  }, store.agents)
  return { repo, audit: { record: (entry: AuditEntry) => { add({ kind: 'audit', entry, at: now().toISOString() }) } } }
}
