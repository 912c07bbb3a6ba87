// An agent's state as clients see it (CONTRACT.md: offline|ready|on_call|acw|paused),
// derived from what the tracker knows, the ACW deadline when ACW runs, and the agent's
// shift (login, pause reason and since when, the status asked for next).
import type { AgentStatus } from './agent-status.ts'
import type { AgentView } from './types.ts'

export interface AcwLookup { endsAt: (agentId: string) => string | undefined }

/** What the shift knows of an agent (src/agents/shift.ts). */
export interface ShiftLookup {
  loggedIn: (agentId: string) => boolean
  interfaceOf: (agentId: string) => string | undefined
  pauseOf: (agentId: string) => { reason: string, since: string } | undefined
  overMax: (agentId: string) => boolean
  nextOf: (agentId: string) => AgentView['next']
}

export function agentView (id: string, st: AgentStatus, acw?: AcwLookup, shift?: ShiftLookup): AgentView {
  const acwEndsAt = acw?.endsAt(id)
  const state = st.callId !== undefined
    ? 'on_call'
    : acwEndsAt !== undefined
      ? 'acw'
      : st.presence === 'offline'
        ? 'offline'
        : st.paused ? 'paused' : 'ready'
  const pause = st.paused ? shift?.pauseOf(id) : undefined
  const since = pause !== undefined && pause.reason === st.pausedReason ? pause.since : undefined
  const next = shift?.nextOf(id)
  const iface = shift?.interfaceOf(id)
  return {
    id,
    state,
    ...(st.callId !== undefined ? { callId: st.callId } : {}),
    ...(acwEndsAt !== undefined ? { acwEndsAt } : {}),
    ...(state === 'paused' && st.pausedReason !== '' ? { pausedReason: st.pausedReason } : {}),
    paused: st.paused,
    ...(st.paused && st.pausedReason !== '' ? { pauseReason: st.pausedReason } : {}),
    ...(since !== undefined ? { pausedSince: since } : {}),
    ...(since !== undefined && shift?.overMax(id) === true ? { pauseOverMax: true as const } : {}),
    // offline and not logged in through the API (an agent on a call is with a customer, whatever its membership)
    loggedOut: shift?.loggedIn(id) !== true && state === 'offline',
    ...(iface !== undefined ? { interface: iface } : {}),
    ...(next !== undefined ? { next } : {})
  }
}
