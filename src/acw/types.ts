// After-call work: the agent's time between calls, enforced by pausing the queue
// member (CONTRACT.md section 2: app_queue's wrapuptime misses transfers and is silent).
import { deadline, type Deadline } from '../deadline.ts'

export type AcwState =
  | 'holding' // paused ahead of a blind transfer, deadline set once the transfer lands
  | 'active' // counting down to endsAt
  | 'ending' // deadline reached or ended early; the unpause is not confirmed yet

export interface AcwEntry {
  agentId: string
  callId?: string
  startedAt: string
  endsAt?: string
  state: AcwState
  seconds: number
  /**
   * The member interface and QueuePause reason this ACW paused with: it is ended with
   * them even if the agent left the config or acw.pauseReason changed since (absent on
   * rows from before they were recorded: the config's are used).
   */
  interface?: string
  pauseReason?: string
}

/**
 * Running ACW: read from memory (the active instance's picture), written through to the
 * store in order. save/delete join the transaction being collected (an outcome's) and
 * resolve once durable; load() fills memory from the store at start.
 */
export interface AcwRepository {
  load: () => Promise<void>
  all: () => AcwEntry[]
  get: (agentId: string) => AcwEntry | undefined
  save: (e: AcwEntry) => Promise<void>
  delete: (agentId: string) => Promise<void>
}

/** What ACW needs from the PBX: QueuePause on every queue of a member interface. */
export interface PausePort {
  setPaused: (memberInterface: string, paused: boolean, reason: string) => Promise<void>
}

/**
 * One line of Asterisk's queue_log written by the service (AMI QueueLog), for the
 * steps app_queue does not log itself. Reporting only: a failed write never blocks ACW.
 */
export interface QueueLogEntry {
  queue: string
  /** the call's uniqueid (app_queue's callid column: the caller's channel) */
  callId: string
  /** the agent column: the member's MemberName, as app_queue writes it */
  agent: string
  event: 'ACWSTART' | 'ACWEND'
  /** the data fields after the event, joined with '|' */
  data: string[]
}

export interface QueueLogPort {
  write: (entry: QueueLogEntry) => Promise<void>
}

export interface Clock {
  /** Wall-clock ms since the epoch: for deadlines that are stored and shown. */
  now: () => number
  /** Monotonic ms (any origin): for deadlines while the process runs, so a wall-clock jump moves none. */
  monotonic: () => number
  /** Fires after `ms` of monotonic time (Node's timers are). */
  setTimeout: (fn: () => void, ms: number) => unknown
  clearTimeout: (handle: unknown) => void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  // A deadline, not a bare timer: a confirmation of QueuePause that came in time is read
  // before its wait gives up, even after a stall of the process.
  setTimeout: (fn, ms) => deadline(ms, fn),
  clearTimeout: (h) => { (h as Deadline | undefined)?.cancel() }
}

export interface AcwSettings {
  seconds: number
  mode: 'fixed' | 'early-exit'
  perQueue: Record<string, number>
  perAgent: Record<string, number>
  pauseReason: string
  pauseRetries: number
}

/** ACW length: the agent's own setting wins over the queue's, which wins over the default. */
export function acwSeconds (s: AcwSettings, agentId: string, queue?: string): number {
  const own = s.perAgent[agentId]
  if (own !== undefined) return own
  const q = queue !== undefined ? s.perQueue[queue] : undefined
  return q ?? s.seconds
}
