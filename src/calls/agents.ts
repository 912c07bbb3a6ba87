// An agent's state as clients see it (CONTRACT.md: offline|ready|on_call|acw|paused),
// derived from what the tracker knows and, when ACW runs, the ACW deadline.
import type { AgentStatus } from './agent-status.ts'
import type { AgentView } from './types.ts'

export interface AcwLookup { endsAt: (agentId: string) => string | undefined }

export function agentView (id: string, st: AgentStatus, acw?: AcwLookup): AgentView {
  const acwEndsAt = acw?.endsAt(id)
  const state = st.callId !== undefined
    ? 'on_call'
    : acwEndsAt !== undefined
      ? 'acw'
      : st.presence === 'offline'
        ? 'offline'
        : st.paused ? 'paused' : 'ready'
  return {
    id,
    state,
    ...(st.callId !== undefined ? { callId: st.callId } : {}),
    ...(acwEndsAt !== undefined ? { acwEndsAt } : {}),
    ...(state === 'paused' && st.pausedReason !== '' ? { pausedReason: st.pausedReason } : {})
  }
}
