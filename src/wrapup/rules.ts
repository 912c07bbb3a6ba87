// When a call's wrap-up may be chosen, and what it is when nobody chose (CONTRACT.md
// section 7). Pure: the call and the agent's ACW row in, a verdict out, so the route,
// the close at ACW end and a restart all judge by the same rule. The window is not a
// timer of its own: it is the answer plus the ACW, whose deadline survives restarts.
import type { AcwEntry } from '../acw/types.ts'
import { ACTIVE_STATES, type Call, type Wrapup } from '../calls/types.ts'

export interface WrapupCodes {
  codes: ReadonlyArray<{ code: string, label: string }>
  /** the code of a call that closes without one (and whose topic names none) */
  defaultCode: string
}

export type WrapupWindow =
  /** not answered yet (offered): nothing to wrap up yet */
  | 'not-answered'
  | 'open'
  /** closed for good: its ACW ended, the call ended without ACW, it was never answered, or it is final */
  | 'closed'

/**
 * The window opens at the answer and stays open while the call is with the agent and
 * then while the agent's ACW for this call runs ('holding' ahead of a transfer, 'active'
 * counting down). It closes when that ACW turns 'ending' or makes way for another
 * call's; a call with no ACW (0 seconds, an agent ACW does not know) closes at its end.
 * `acw` is the row of the call's agent, whatever call it is for.
 */
export function wrapupWindow (call: Call, acw: AcwEntry | undefined): WrapupWindow {
  if (call.wrapup?.final === true) return 'closed'
  if (call.connectedAt === undefined || call.agentId === undefined) return ACTIVE_STATES.has(call.state) ? 'not-answered' : 'closed'
  if (ACTIVE_STATES.has(call.state)) return 'open'
  return acw !== undefined && acw.callId === call.callId && acw.state !== 'ending' ? 'open' : 'closed'
}

export function labelOf (codes: WrapupCodes, code: string): string {
  return codes.codes.find(c => c.code === code)?.label ?? code
}

/**
 * The call's wrap-up once its window closed: what was chosen, else the code of the
 * inquiry's topic (as the policy in force for that inquiry named it), else the default.
 */
export function finalWrapup (call: Call, codes: WrapupCodes, at: string): Wrapup {
  if (call.wrapup !== undefined) return { ...call.wrapup, final: true }
  const topicCode = call.inquiry?.decision.wrapupCode
  if (topicCode !== undefined) return { code: topicCode, label: labelOf(codes, topicCode), source: 'topic', at, final: true }
  return { code: codes.defaultCode, label: labelOf(codes, codes.defaultCode), source: 'default', at, final: true }
}
