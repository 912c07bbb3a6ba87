// Calls and agents as the service sees them. A call is identified by the customer
// channel's Linkedid (CONTRACT.md section 4), which every channel of the call shares.
import type { Customer, Decision, Topic } from '../policy/index.ts'

export type CallState = 'offered' | 'connected' | 'transferring' | 'transferred' | 'ended'

export interface Inquiry {
  topic: Topic
  customer: Customer
  area?: string
  subscribedViaPlnMobile?: boolean
  decision: Decision
  at: string
  by: string
}

export interface Consent { accepted: boolean, at: string, by: string }

export interface TransferInfo {
  status: 'pending' | 'completed' | 'failed'
  target: number
  at: string
  /** Asterisk's word when it refused, or why the outcome is unknown */
  message?: string
  /** where the customer landed at the target, once transferred (CONTRACT.md section 8) */
  landing?: Landing
}

export type LandingStatus = 'waiting' | 'answered' | 'abandoned' | 'failed'

/**
 * The customer at the transfer's target: waiting once placed there, then answered,
 * abandoned (hung up waiting) or failed (the target was busy, congested, unreachable
 * or did not answer). A final status never changes.
 */
export interface Landing {
  status: LandingStatus
  /** when this status was reached */
  at: string
  /** seconds from being placed at the target to `at` (0 while waiting) */
  waitSeconds: number
  /** why it failed: Asterisk's DialStatus (BUSY, CONGESTION, CHANUNAVAIL, NOANSWER, ...) */
  cause?: string
}

export type WrapupSource = 'agent' | 'topic' | 'default'

/**
 * What became of the call, in the center's codes (CONTRACT.md section 7). Chosen from
 * the answer until the agent's ACW for the call ends (a later choice replaces it); then
 * final: the agent's choice, else the topic's code, else the configured default.
 */
export interface Wrapup {
  code: string
  /** the code's label when it was set (a later config change does not rewrite history) */
  label: string
  note?: string
  source: WrapupSource
  at: string
  /** who chose it (source agent: the agent or a supervisor) */
  by?: string
  /** the window closed: this is the call's wrap-up for good */
  final?: true
}

export interface Call {
  callId: string
  state: CallState
  /** set when the call reached an agent (by configured member interface) */
  agentId?: string
  queue?: string
  customerChannel?: string
  /** the agent's leg: DestChannel of AgentConnect, the transferer of a blind transfer */
  agentChannel?: string
  callerIdNum?: string
  callerIdName?: string
  offeredAt: string
  connectedAt?: string
  endedAt?: string
  /** why the call left the agent: caller/agent hung up, transfer */
  endReason?: string
  inquiry?: Inquiry
  consent?: Consent
  transfer?: TransferInfo
  apkt?: { recordId: string, permasalahan: string }
  wrapup?: Wrapup
  /** where the last change came from, for the log */
  source: 'ami' | 'cti' | 'resync'
}

export type AgentPresence = 'offline' | 'online'

export type AgentStateName = 'offline' | 'ready' | 'on_call' | 'acw' | 'paused'

export interface AgentView {
  id: string
  state: AgentStateName
  callId?: string
  acwEndsAt?: string
  /** the reason while in state paused (kept for older clients; pauseReason is the same whenever paused) */
  pausedReason?: string
  /** paused in the queue (for ACW too), whatever the state shows first */
  paused: boolean
  pauseReason?: string
  pausedSince?: string
  /** a pause of a configured reason longer than its maxMinutes */
  pauseOverMax?: true
  /** neither logged in through the API nor a member of any queue */
  loggedOut: boolean
  /** the phone the agent sits at today (the login's, else the configured one) */
  interface?: string
  /** what the agent asked for during the call or ACW, applied when ACW ends */
  next?: { paused: true, reason: string } | { logout: true }
}

export const ACTIVE_STATES: ReadonlySet<CallState> = new Set(['offered', 'connected', 'transferring'])

/** Over for good: ended, or transferred and the customer's leg gone too. Such a call lives in the store only. */
export const isFinished = (c: Call): boolean => c.state === 'ended' || (c.state === 'transferred' && c.endedAt !== undefined)

/** One live channel as CoreShowChannels lists it (src/ami/snapshots.ts translates it). */
export interface ChannelSnapshot { channel: string, linkedid: string, bridgeId: string, application: string, context: string, exten: string, callerIdNum: string, callerIdName: string }

/** One queue member as QueueStatus lists it (src/ami/snapshots.ts translates it). */
export interface MemberSnapshot { interface: string, status: number, paused: boolean, pausedReason: string, inCall: boolean }
