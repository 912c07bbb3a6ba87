// What the tracker knows of each configured agent: logged in or not, paused and why,
// and the call the agent is on. A change is announced only when something changed.
import type { AgentPresence } from './types.ts'

export interface AgentStatus {
  presence: AgentPresence
  paused: boolean
  pausedReason: string
  callId?: string
}

// Asterisk queue member Status values that mean the device cannot take calls.
const UNAVAILABLE = new Set([4, 5]) // AST_DEVICE_INVALID, AST_DEVICE_UNAVAILABLE

/** A queue member's device Status as presence. */
export const presenceOf = (deviceStatus: number): AgentPresence => UNAVAILABLE.has(deviceStatus) ? 'offline' : 'online'

/** Same status, every field of AgentStatus compared (an absent callId equals an undefined one, as in JSON). */
const sameStatus = (a: AgentStatus, b: AgentStatus): boolean =>
  a.presence === b.presence && a.paused === b.paused && a.pausedReason === b.pausedReason && a.callId === b.callId

export class AgentStatuses {
  private readonly byAgent = new Map<string, AgentStatus>()

  constructor (agentIds: readonly string[], private readonly changed: (agentId: string) => void) {
    for (const id of agentIds) this.byAgent.set(id, { presence: 'offline', paused: false, pausedReason: '' })
  }

  /** Follows an agent added while running (a directory change); quiet: nothing changed for anyone yet. */
  ensure (agentId: string): void {
    if (!this.byAgent.has(agentId)) this.byAgent.set(agentId, { presence: 'offline', paused: false, pausedReason: '' })
  }

  /** undefined for an agent that is not configured. */
  get (agentId: string): AgentStatus | undefined { return this.byAgent.get(agentId) }

  /** Applies `patch` (callId: undefined removes the call); ignores agents that are not configured. */
  set (agentId: string, patch: Partial<AgentStatus>): void {
    const st = this.byAgent.get(agentId)
    if (st === undefined) return
    const next = { ...st, ...patch }
    if ('callId' in patch && patch.callId === undefined) delete next.callId
    if (sameStatus(next, st)) return
    this.byAgent.set(agentId, next)
    this.changed(agentId)
  }
}
