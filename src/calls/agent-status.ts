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

  /** Tracks no agent until sync() names them (the tracker does, from its agent lookup). */
  constructor (private readonly changed: (agentId: string) => void) {}

  /**
   * Tracks exactly `agentIds` from now on: a new one starts offline, one no longer listed
   * is dropped (each announced). The others keep what is known of them.
   */
  sync (agentIds: readonly string[]): void {
    const keep = new Set(agentIds)
    for (const id of [...this.byAgent.keys()]) {
      if (!keep.has(id)) { this.byAgent.delete(id); this.changed(id) }
    }
    for (const id of agentIds) {
      if (!this.byAgent.has(id)) { this.byAgent.set(id, { presence: 'offline', paused: false, pausedReason: '' }); this.changed(id) }
    }
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
