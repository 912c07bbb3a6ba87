// Agents managed while the service runs (CONTRACT.md section 7): create, change and
// remove an agent, issue its tokens. The admin API and the CLI both go through here, so
// both check the same things and write the same changes. Each change is one transaction
// with its audit entry; the directory takes it once it is durable (another instance, or
// the service after a CLI change, sees it through the store's agents version).
import type { AuditSink } from '../audit/log.ts'
import { Errors, withDetails } from '../errors.ts'
import type { AgentDirectory } from './directory.ts'
import type { AgentRepository } from './repository.ts'
import { newToken, tokenDigest } from './tokens.ts'
import { cleanAgent, type Agent } from './types.ts'
import { agentIdProblem, agentInputProblems, tokenNameProblem, type AgentInput } from './validate.ts'

export interface Actor { name: string, role: string }

export interface AgentAdminDeps {
  directory: AgentDirectory
  repo: AgentRepository
  audit: AuditSink
  /** `agentInterfaces.technologies` */
  technologies: readonly string[]
  /** Why the agent cannot be removed (or its phone changed) now: on a call, in ACW, logged in; undefined when it can. */
  busy: (agentId: string) => string | undefined
  /**
   * Waits for a change to be durable; the service answers 503 STORE_UNAVAILABLE past its
   * commit timeout (src/calls/durable.ts). Called first with no promise: throws while the store cannot take writes.
   */
  durable?: (saved: Promise<void> | undefined, what: string) => Promise<void>
  now?: () => Date
  /**
   * How a field is named in a refusal: the API's `body.unit`, `params.agentId` (the
   * default), the CLI's `--unit`. `field` is `agentId`, `name`, `unit`, `queues[1]`, ...
   */
  fieldName?: (field: string) => string
}

const apiField = (field: string): string => field === 'agentId' ? 'params.agentId' : `body.${field}`

export interface AgentListing extends Agent { inConfig: boolean }

export interface IssuedToken { agentId: string, name: string, token: string, revokedOthers: boolean }

export class AgentAdmin {
  constructor (private readonly deps: AgentAdminDeps) {}

  list (): AgentListing[] {
    const d = this.deps.directory
    return d.all().map(a => ({ ...a, inConfig: d.inConfig(a.id) })).sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  }

  /** Creates or changes a run-time agent; `created` says which. */
  async put (agentId: string, input: AgentInput, by: Actor): Promise<{ agent: Agent, created: boolean }> {
    this.checkId(agentId)
    const first = agentInputProblems(input, this.deps.technologies)[0]
    if (first !== undefined) this.refuse(first.field, first.message)
    const d = this.deps.directory
    if (d.inConfig(agentId)) throw new Errors.AgentInConfig(`agent ${agentId} is listed in the config file: change it there (and restart); the API changes only agents it created`)
    // One phone, one agent: the tracker tells agents apart by their interface.
    const iface = input.interface?.toLowerCase()
    const holder = iface === undefined ? undefined : d.all().find(a => a.id !== agentId && a.interface?.toLowerCase() === iface)
    if (holder !== undefined) this.refuse('interface', `interface ${input.interface as string} is agent ${holder.id}'s`)
    const before = d.get(agentId)
    const agent = cleanAgent({ id: agentId, ...input })
    if (before !== undefined && before.interface !== agent.interface) {
      // The tracker knows the agent's call and ACW by its phone: moving it now would lose them.
      const why = this.deps.busy(agentId)
      if (why !== undefined) throw new Errors.AgentBusy(`agent ${agentId} is ${why}: its interface can change once that is over`)
    }
    const action = before === undefined ? 'agent.create' : 'agent.change'
    await this.write(`the ${action} of agent ${agentId}`, at => {
      this.deps.repo.save(agent, at)
      this.deps.audit.record({ actor: by.name, role: by.role, action, target: agentId, details: { agent, ...(before !== undefined ? { before } : {}) } })
    })
    d.put(agent)
    return { agent, created: before === undefined }
  }

  async remove (agentId: string, by: Actor): Promise<void> {
    this.checkId(agentId)
    const d = this.deps.directory
    if (d.inConfig(agentId)) throw new Errors.AgentInConfig(`agent ${agentId} is listed in the config file: remove it there (and restart)`)
    const before = d.get(agentId)
    if (before === undefined) throw new Errors.AgentNotFound(`no agent ${agentId}`)
    const why = this.deps.busy(agentId)
    if (why !== undefined) throw new Errors.AgentBusy(`agent ${agentId} is ${why}: it can be removed once that is over`)
    await this.write(`the removal of agent ${agentId}`, at => {
      this.deps.repo.remove(agentId, at)
      this.deps.audit.record({ actor: by.name, role: by.role, action: 'agent.remove', target: agentId, details: { agent: before } })
    })
    d.remove(agentId)
  }

  /** A new token for the agent, shown once (only its digest is kept); `revokeOthers` revokes the agent's older ones. */
  async issueToken (agentId: string, opts: { name?: string, revokeOthers?: boolean }, by: Actor): Promise<IssuedToken> {
    this.checkId(agentId)
    const bad = opts.name !== undefined ? tokenNameProblem(opts.name) : undefined
    if (bad !== undefined) this.refuse('name', bad)
    const d = this.deps.directory
    if (!d.has(agentId)) throw new Errors.AgentNotFound(`no agent ${agentId}`)
    const token = newToken()
    const digest = tokenDigest(token)
    const name = opts.name ?? `agent-${agentId}-${new Date((this.deps.now ?? (() => new Date()))()).toISOString()}`
    const revokeOthers = opts.revokeOthers === true
    let createdAt = ''
    await this.write(`a token for agent ${agentId}`, at => {
      createdAt = at
      this.deps.repo.addToken({ digest, agentId, name }, at)
      if (revokeOthers) this.deps.repo.revokeTokens(agentId, digest, at)
      // Never the token, nor its digest: the name says which one it was.
      this.deps.audit.record({ actor: by.name, role: by.role, action: 'agent.token.issue', target: agentId, details: { name, revokedOthers: revokeOthers } })
    })
    d.addToken({ digest, agentId, name, createdAt })
    if (revokeOthers) d.revokeTokens(agentId, digest)
    return { agentId, name, token, revokedOthers: revokeOthers }
  }

  private checkId (agentId: string): void {
    const why = agentIdProblem(agentId)
    if (why !== undefined) this.refuse('agentId', why)
  }

  private refuse (field: string, message: string): never {
    const name = (this.deps.fieldName ?? apiField)(field)
    throw withDetails(new Errors.BadRequest(`${name}: ${message}`), { field: name })
  }

  private async write (what: string, fn: (at: string) => void): Promise<void> {
    const durable = this.deps.durable ?? (async (saved: Promise<void> | undefined) => { await saved })
    await durable(undefined, what)
    const at = (this.deps.now ?? (() => new Date()))().toISOString()
    await durable(this.deps.repo.transaction(() => { fn(at) }), what)
  }
}
