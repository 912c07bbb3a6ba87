// ACW enforced by the service (issue: ready -> on_call -> acw -> ready). Every call end
// puts the agent in ACW: the deadline is written to the store first, then the member
// is paused in every queue (QueuePause, Reason ACW) and the pause is confirmed from
// QueueMemberPause events (retried, then reported). At the deadline the member is
// unpaused, unless somebody paused it for another reason meanwhile. A restart keeps
// the original deadline; an Asterisk restart (members come back unpaused) re-applies
// the pause. No agent stays paused because of a timer the service forgot, nor because
// the unpause was refused for a while, the agent left the config or the pause reason
// changed; none is freed early by an unpause, whenever it arrives, or by a wall-clock jump.
import { EventEmitter } from 'node:events'
import { Backoff, type BackoffOptions } from '../backoff.ts'
import { Errors } from '../errors.ts'
import type { AuditSink } from '../audit/log.ts'
import type { Log } from '../log.ts'
import { acwSeconds, type AcwEntry, type AcwRepository, type AcwSettings, type Clock, type PausePort, type QueueLogEntry, type QueueLogPort } from './types.ts'

/** `memberName`: the agent column of queue_log (default the interface); `queues`: the first is queue_log's queue when the call's is not known. */
export interface AcwAgent { id: string, interface?: string, memberName?: string, queues?: readonly string[] }

/** The agents as they are now (the agent directory): ACW looks each one up when it acts. */
export interface AcwAgentLookup { get: (agentId: string) => AcwAgent | undefined }

export interface AcwDeps {
  repo: AcwRepository
  pbx: PausePort
  clock: Clock
  log: Log
  audit: AuditSink
  /** A fixed list, a lookup that follows agents added and removed at run time, or a function: each agent with its interface of today (the login's, else the configured one). */
  agents: readonly AcwAgent[] | AcwAgentLookup | ((agentId: string) => AcwAgent | undefined)
  settings: AcwSettings
  /** The member's pause as last reported by Asterisk. */
  pauseOf: (agentId: string) => { paused: boolean, reason: string } | undefined
  onCall: (agentId: string) => boolean
  /** How long to wait for QueueMemberPause after a QueuePause. */
  confirmTimeoutMs: number
  /** Crash-test hook: kills the process at a named step when armed (see failpoints.ts). */
  failpoint?: (name: string) => void
  /** Told about a background step that failed (the wiring heals store outages with it). */
  onError?: (err: unknown) => void
  /** Pace of the later tries of an unpause that did not take (default 1 s doubling to 60 s). */
  retry?: BackoffOptions
  /**
   * What the agent asked for while on the call or in ACW (a pause for a reason, a
   * logout), done at ACW's end instead of the unpause: a promise of whether it took,
   * or undefined when nothing was asked (src/agents/shift.ts).
   */
  afterAcw?: (agentId: string) => Promise<boolean> | undefined
  /** Writes ACWSTART/ACWEND to Asterisk's queue_log (reporting only: never awaited, failures logged). */
  queueLog?: QueueLogPort
}

export interface Actor { name: string, role: string }

const SYSTEM: Actor = { name: 'pln123-cti', role: 'system' }
const RETRY: BackoffOptions = { initialMs: 1000, maxMs: 60_000 }

interface Waiter { paused: boolean, reason: string, resolve: (ok: boolean) => void }

/**
 * `ended`: an ACW that was counting down is over (deadline, early exit, a supervisor),
 * told when it turns 'ending', in the same turn (so a listener's writes join that row's
 * transaction); told again if the end is tried again (after a refused unpause, a
 * restart): listeners are idempotent. Not told for a hold that never became ACW.
 */
export class AcwService extends EventEmitter<{ change: [agentId: string], pauseFailed: [agentId: string, paused: boolean], ended: [entry: AcwEntry] }> {
  /** The deadline's timer, or the next try of an unpause that did not take. */
  private readonly timers = new Map<string, unknown>()
  /** Deadlines on the monotonic clock while we run (the stored endsAt is wall-clock, for restarts). */
  private readonly dueAt = new Map<string, number>()
  private readonly backoffs = new Map<string, Backoff>()
  /** pauses that did not take while AMI was up, tried again while their ACW lasts */
  private readonly pauseRetries = new Map<string, { backoff: Backoff, timer?: unknown }>()
  private readonly waiters = new Map<string, Waiter[]>()
  private readonly agentOf: (agentId: string) => AcwAgent | undefined
  /** Agents with a pause change of ours under way (how many). */
  private readonly applying = new Map<string, number>()
  /**
   * Agents whose hold or ACW is saved and whose QueuePause waits for that commit (the
   * step after it sends it): a re-apply meanwhile would pause ahead of the commit, and
   * then the step once more. A token per mark, so an older step does not clear a newer one.
   */
  private readonly pauseAfterCommit = new Map<string, symbol>()
  /** The last QueueMemberPause (paused or not) seen while our change was under way. */
  private readonly seen = new Map<string, boolean>()
  private stopped = false
  /** queue_log: the ACW (its startedAt) whose ACWSTART / ACWEND was written, per agent, so none is written twice. */
  private readonly startLogged = new Map<string, string>()
  private readonly endLogged = new Map<string, string>()
  /** queue_log: the queue of the call that began the agent's ACW (unknown after a restart). */
  private readonly acwQueue = new Map<string, string>()

  constructor (private readonly deps: AcwDeps) {
    super()
    const agents = deps.agents
    if (typeof agents === 'function') this.agentOf = agents
    else if (Array.isArray(agents)) { const byId = new Map((agents as readonly AcwAgent[]).map(a => [a.id, a])); this.agentOf = id => byId.get(id) }
    else { const lookup = agents as AcwAgentLookup; this.agentOf = id => lookup.get(id) }
  }

  endsAt (agentId: string): string | undefined {
    const e = this.deps.repo.get(agentId)
    return e?.state === 'holding' ? undefined : e?.endsAt
  }

  entry (agentId: string): AcwEntry | undefined { return this.deps.repo.get(agentId) }

  /** After a restart: keep the original deadlines (or end at once if they passed). */
  async recover (): Promise<void> {
    await this.deps.repo.load()
    for (const e of this.deps.repo.all()) {
      if (e.state === 'holding' && !this.deps.onCall(e.agentId)) {
        // The transfer's outcome was lost with the process: count ACW from now.
        this.activate(e.agentId, e.callId, e.seconds, true, e)
        continue
      }
      this.schedule(e)
    }
  }

  /** Called once the AMI session (and the call picture) is back: pauses do not survive an Asterisk restart. */
  async reapply (): Promise<void> {
    for (const e of this.deps.repo.all()) {
      if (e.state === 'ending' || this.due(e)) {
        await this.finish(e.agentId, 'ACW time over', SYSTEM)
      } else if (this.agentOf(e.agentId) === undefined) {
        // Left the config: not ours to enforce any more, only to end at its deadline (recover's timer).
      } else if (this.applying.has(e.agentId) || this.pauseAfterCommit.has(e.agentId)) {
        // A QueuePause for it is under way on this session, or is sent once its hold or
        // ACW has committed (a press, an ACW begun during the repair): that one confirms
        // or retries by itself; a second would only be a duplicate at the PBX. (An
        // unpause under way has its entry 'ending', above.)
      } else if (this.deps.pauseOf(e.agentId)?.paused !== true) {
        // Paused already (for ACW, or by a supervisor for a break): leave it as it is.
        await this.apply(e.agentId, true)
      }
    }
  }

  /**
   * Records the hold ahead of a blind transfer; the caller runs this inside the
   * transaction that marks the call "transferring", so both commit together. Returns
   * the step to take once that has committed: pausing the member, so the next queue
   * call cannot slip in (a no-op when there is nothing to hold).
   */
  holdForTransfer (agentId: string, callId: string, queue?: string): () => void {
    const seconds = acwSeconds(this.deps.settings, agentId, queue)
    if (seconds === 0 || this.deps.repo.get(agentId) !== undefined) return () => {}
    void this.deps.repo.save({ agentId, callId, startedAt: new Date(this.deps.clock.now()).toISOString(), state: 'holding', seconds, ...this.stamp(agentId) })
    const owed = this.owePause(agentId)
    // Not awaited: QueuePause is written to the AMI session now, before the transfer's
    // BlindTransfer, and Asterisk runs one session's actions in order. Confirmation
    // (and retries) go on in the background without slowing the transfer button.
    return () => { owed(); this.background(this.apply(agentId, true), agentId) }
  }

  /**
   * The transfer landed: the hold becomes ACW with its deadline. Runs inside the
   * transaction that records the transfer's outcome (and its APKT record), so the
   * deadline commits with it; the release that follows starts the countdown
   * (onReleased). Nothing but the store is touched here: if that transaction fails,
   * the hold stays as it was.
   */
  recordTransferred (agentId: string, callId: string): void {
    const e = this.deps.repo.get(agentId)
    if (e?.state !== 'holding' || e.callId !== callId) return
    void this.deps.repo.save(this.countdown(agentId, callId, e.seconds, e))
  }

  /** The transfer did not happen: the agent is still on the call, so no ACW yet. */
  async releaseHold (agentId: string): Promise<void> {
    const e = this.deps.repo.get(agentId)
    if (e?.state !== 'holding') return
    await this.finish(agentId, 'transfer did not happen', SYSTEM)
  }

  /** The agent's part in a call is over (hangup on either side, transfer, a call outside the queue). */
  onReleased (agentId: string, callId: string, queue: string | undefined, reason: string): void {
    if (this.agentOf(agentId) === undefined) return
    const entry = this.deps.repo.get(agentId)
    const seconds = entry?.seconds ?? acwSeconds(this.deps.settings, agentId, queue)
    if (entry?.state === 'active' && entry.callId === callId && entry.endsAt !== undefined) {
      // Recorded with the transfer's outcome (recordTransferred): count down from there.
      this.schedule(entry)
      this.emit('change', agentId)
      this.logStart(entry, queue)
    } else {
      if (seconds === 0) { this.background(this.releaseHold(agentId), agentId); return }
      this.activate(agentId, callId, seconds, entry?.state !== 'holding', entry, queue)
    }
    this.deps.log.info({ agentId, callId, reason, seconds }, 'agent in ACW')
  }

  /** Every QueueMemberPause for a configured agent. */
  onPauseEvent (agentId: string, paused: boolean, reason: string): void {
    const list = this.waiters.get(agentId)
    if (list !== undefined) {
      const keep = list.filter(w => {
        if (this.isWanted(w.paused, w.reason, paused, reason)) { w.resolve(true); return false }
        return true
      })
      if (keep.length > 0) this.waiters.set(agentId, keep); else this.waiters.delete(agentId)
    }
    if (this.applying.has(agentId)) {
      // Our change is under way: its confirmation and the agent's next change can come
      // in one TCP chunk, both handled before our step resumes. The last one is judged
      // once the step is over (settled), so an unpause after ours is never lost.
      this.seen.set(agentId, paused)
      return
    }
    if (!paused) this.unpausedDuringAcw(agentId)
  }

  /** Early exit by the agent (mode early-exit only). */
  async complete (agentId: string, by: Actor): Promise<void> {
    if (this.deps.settings.mode !== 'early-exit') throw new Errors.AcwFixed('ACW mode is fixed (SOP): it cannot be ended early by the agent; a supervisor can end it')
    this.activeEntry(agentId)
    this.deps.audit.record({ actor: by.name, role: by.role, action: 'acw.complete', target: agentId })
    await this.finish(agentId, 'ended early by the agent', by)
  }

  /** A supervisor extends or ends an agent's ACW, whatever the mode. */
  async supervise (agentId: string, by: Actor, change: { extendSeconds?: number, end?: boolean }): Promise<AcwEntry | undefined> {
    const e = this.activeEntry(agentId)
    if (change.end === true) {
      this.deps.audit.record({ actor: by.name, role: by.role, action: 'acw.end', target: agentId, details: { endsAt: e.endsAt } })
      await this.finish(agentId, 'ended by a supervisor', by)
      return undefined
    }
    const extend = change.extendSeconds ?? 0
    const from = e.endsAt !== undefined ? Date.parse(e.endsAt) : this.deps.clock.now()
    const next: AcwEntry = { ...e, endsAt: new Date(from + extend * 1000).toISOString(), seconds: e.seconds + extend }
    void this.deps.repo.save(next)
    this.deps.audit.record({ actor: by.name, role: by.role, action: 'acw.extend', target: agentId, details: { extendSeconds: extend, endsAt: next.endsAt } })
    this.deps.log.info({ agentId, by: by.name, extendSeconds: extend, endsAt: next.endsAt }, 'ACW extended')
    const due = this.dueAt.get(agentId)
    this.schedule(next, due !== undefined ? due + extend * 1000 : undefined)
    this.emit('change', agentId)
    return next
  }

  /** On shutdown: no timer fires and nothing touches the store afterwards. */
  stop (): void {
    this.stopped = true
    for (const h of this.timers.values()) this.deps.clock.clearTimeout(h)
    this.timers.clear()
    this.dueAt.clear()
    this.backoffs.clear()
    for (const agentId of [...this.pauseRetries.keys()]) this.stopPauseRetries(agentId)
    for (const list of this.waiters.values()) for (const w of list) w.resolve(false)
    this.waiters.clear()
  }

  private background (p: Promise<unknown>, agentId: string): void {
    p.catch((err: unknown) => {
      if (this.stopped) return
      this.deps.log.error({ agentId, err }, 'ACW step failed')
      this.deps.onError?.(err)
    })
  }

  private activeEntry (agentId: string): AcwEntry {
    if (this.agentOf(agentId) === undefined) throw new Errors.AgentNotFound(`no agent ${agentId}`)
    const e = this.deps.repo.get(agentId)
    if (e === undefined || e.state === 'holding') throw new Errors.NotInAcw(`agent ${agentId} is not in ACW`)
    return e
  }

  /** ACW of `seconds` counted from now (paused as `prev` was, if it was). */
  private countdown (agentId: string, callId: string | undefined, seconds: number, prev?: AcwEntry): AcwEntry {
    const now = this.deps.clock.now()
    return { agentId, ...(callId !== undefined ? { callId } : {}), startedAt: new Date(now).toISOString(), endsAt: new Date(now + seconds * 1000).toISOString(), state: 'active', seconds, ...this.stamp(agentId, prev) }
  }

  /** The interface and reason the pause is made with, kept with the row so it can be undone whatever the config says later. */
  private stamp (agentId: string, prev?: AcwEntry): Pick<AcwEntry, 'interface' | 'pauseReason'> {
    const iface = prev?.interface ?? this.agentOf(agentId)?.interface
    return { ...(iface !== undefined ? { interface: iface } : {}), pauseReason: prev?.pauseReason ?? this.deps.settings.pauseReason }
  }

  private activate (agentId: string, callId: string | undefined, seconds: number, pause: boolean, prev?: AcwEntry, queue?: string): void {
    const e = this.countdown(agentId, callId, seconds, prev)
    const saved = this.deps.repo.save(e)
    this.schedule(e)
    this.emit('change', agentId)
    this.logStart(e, queue)
    const owed = pause ? this.owePause(agentId) : () => {}
    // The deadline is durable before the PBX hears anything: a crash in between leaves
    // a deadline that a restart enforces, never a pause nobody will lift.
    this.background(saved.finally(owed).then(async () => {
      if (this.stopped) return
      // Durable late (a store outage): this ACW may be over by now, or another begun;
      // a pause for an ACW that is no longer running would leave the agent paused for good.
      const now = this.deps.repo.get(agentId)
      if (now?.startedAt !== e.startedAt || now.state !== 'active') return
      this.deps.failpoint?.('acw:saved')
      if (pause && this.agentOf(agentId) !== undefined) {
        await this.apply(agentId, true)
        if (!this.stopped) this.deps.failpoint?.('acw:paused')
      }
    }), agentId)
  }

  /** (Re)starts the countdown to e.endsAt, or to `due` on the monotonic clock when known. */
  private schedule (e: AcwEntry, due?: number): void {
    this.clearTimer(e.agentId)
    this.backoffs.delete(e.agentId)
    if (e.endsAt === undefined) return
    // The stored deadline is wall-clock (it must mean the same after a restart); while
    // we run it is counted on the monotonic clock, so a wall-clock jump (NTP step, an
    // operator's date) neither ends ACW early nor keeps the agent late.
    const at = due ?? this.deps.clock.monotonic() + Date.parse(e.endsAt) - this.deps.clock.now()
    this.dueAt.set(e.agentId, at)
    this.setTimer(e.agentId, () => { this.background(this.finish(e.agentId, 'ACW time over', SYSTEM), e.agentId) }, Math.max(0, at - this.deps.clock.monotonic()))
  }

  /** The deadline has passed: on the monotonic clock if this process counted it, else by the stored wall-clock time. */
  private due (e: AcwEntry): boolean {
    const at = this.dueAt.get(e.agentId)
    if (at !== undefined) return at <= this.deps.clock.monotonic()
    return e.endsAt !== undefined && Date.parse(e.endsAt) <= this.deps.clock.now()
  }

  private setTimer (agentId: string, fn: () => void, ms: number): void {
    this.clearTimer(agentId)
    this.timers.set(agentId, this.deps.clock.setTimeout(() => { this.timers.delete(agentId); fn() }, ms))
  }

  private clearTimer (agentId: string): void {
    const t = this.timers.get(agentId)
    if (t !== undefined) this.deps.clock.clearTimeout(t)
    this.timers.delete(agentId)
  }

  /** Ends ACW: unpause (unless paused by someone else), then forget the deadline. */
  private async finish (agentId: string, why: string, by: Actor): Promise<void> {
    if (this.stopped) return
    const e = this.deps.repo.get(agentId)
    if (e === undefined) return
    this.clearTimer(agentId)
    this.dueAt.delete(agentId)
    this.stopPauseRetries(agentId)
    this.pauseAfterCommit.delete(agentId) // a press that failed before its pause step
    if (e.state !== 'ending') void this.deps.repo.save({ ...e, state: 'ending' })
    if (e.endsAt !== undefined) {
      // A listener that fails must not keep the agent paused: logged, and the end goes on.
      try { this.emit('ended', e) } catch (err) { this.deps.log.error({ agentId, callId: e.callId, err }, 'a listener of the ACW end failed') }
    }
    this.deps.failpoint?.('acw:ending')
    const p = this.deps.pauseOf(agentId)
    // A pause or logout the agent asked for meanwhile starts now, instead of the unpause.
    const after = this.deps.afterAcw?.(agentId)
    // Ours is the reason this ACW paused with, even if acw.pauseReason changed since.
    if (after === undefined && p !== undefined && p.paused && p.reason !== (e.pauseReason ?? this.deps.settings.pauseReason)) {
      this.deps.log.info({ agentId, callId: e.callId, pausedReason: p.reason }, 'ACW over; agent stays paused: paused by someone else for another reason')
      this.logEnd(e, by)
    } else {
      const ok = await (after ?? this.apply(agentId, false))
      if (this.stopped) return
      // Kept as 'ending' and tried again later, AMI up or not: giving up would leave
      // the agent paused for good. An AMI login (reapply) or the next start tries too.
      if (!ok) { this.retryLater(agentId, why, by); return }
      // After the unpause took, so ACWEND follows app_queue's UNPAUSE line.
      this.logEnd(e, by)
      // A new ACW began while we unpaused (a call ended, seen by a resync): its pause
      // was sent after our unpause and its row must stay.
      if (this.deps.repo.get(agentId)?.state !== 'ending') return
    }
    this.backoffs.delete(agentId)
    void this.deps.repo.delete(agentId)
    this.deps.log.info({ agentId, callId: e.callId, why, by: by.name }, 'ACW ended')
    this.emit('change', agentId)
  }

  /**
   * queue_log's ACWSTART for an ACW whose countdown began (a hold ahead of a transfer
   * is not ACW yet: its PAUSE comes before the transfer, during talk time). Once per ACW.
   */
  private logStart (e: AcwEntry, queue: string | undefined): void {
    if (e.endsAt === undefined || this.startLogged.get(e.agentId) === e.startedAt) return
    this.startLogged.set(e.agentId, e.startedAt)
    const q = queue ?? this.agentOf(e.agentId)?.queues?.[0]
    if (q !== undefined) this.acwQueue.set(e.agentId, q); else this.acwQueue.delete(e.agentId)
    this.queueLog(e, 'ACWSTART', [String(e.seconds), e.pauseReason ?? this.deps.settings.pauseReason])
  }

  /** queue_log's ACWEND: how long the ACW lasted and who ended it (TIMEOUT, AGENT, SUPERVISOR). Once per ACW. */
  private logEnd (e: AcwEntry, by: Actor): void {
    if (e.endsAt === undefined || this.endLogged.get(e.agentId) === e.startedAt) return
    this.endLogged.set(e.agentId, e.startedAt)
    const lasted = Math.max(0, Math.round((this.deps.clock.now() - Date.parse(e.startedAt)) / 1000))
    this.queueLog(e, 'ACWEND', [String(lasted), by.role === 'system' ? 'TIMEOUT' : by.role.toUpperCase()])
  }

  private queueLog (e: AcwEntry, event: QueueLogEntry['event'], data: string[]): void {
    const port = this.deps.queueLog
    const agent = this.agentOf(e.agentId)
    const queue = this.acwQueue.get(e.agentId) ?? agent?.queues?.[0]
    const iface = agent?.interface ?? e.interface
    if (port === undefined || queue === undefined || iface === undefined) return
    const entry: QueueLogEntry = { queue, callId: e.callId ?? 'NONE', agent: agent?.memberName ?? iface, event, data }
    // Reporting, not control: a lost line is logged, ACW goes on regardless.
    const failed = (err: unknown): void => { this.deps.log.warn({ agentId: e.agentId, callId: e.callId, event, err: { code: (err as { code?: string }).code, message: (err as Error).message } }, 'queue_log line not written') }
    try { port.write(entry).catch(failed) } catch (err) { failed(err) }
  }

  /** The next try of an unpause that did not take, with back-off, while the ACW is still ending. */
  private retryLater (agentId: string, why: string, by: Actor): void {
    let b = this.backoffs.get(agentId)
    if (b === undefined) { b = new Backoff(this.deps.retry ?? RETRY); this.backoffs.set(agentId, b) }
    const ms = b.next()
    this.deps.log.warn({ agentId, attempt: b.attempts, retryInMs: ms }, 'ACW over but the unpause did not take: tried again later')
    this.setTimer(agentId, () => {
      if (this.deps.repo.get(agentId)?.state === 'ending') this.background(this.finish(agentId, why, by), agentId)
    }, ms)
  }

  /**
   * The next try of a pause that did not take while AMI is up. Left alone, the agent
   * would be free during ACW (the SOP's "no call before ACW ends"); an AMI login
   * re-applies it too, but AMI may stay up for hours. Stops when the ACW ends.
   */
  private retryPauseLater (agentId: string): void {
    if (this.stopped) return
    let retry = this.pauseRetries.get(agentId)
    if (retry === undefined) { retry = { backoff: new Backoff(this.deps.retry ?? RETRY) }; this.pauseRetries.set(agentId, retry) }
    const ms = retry.backoff.next()
    this.deps.log.warn({ agentId, attempt: retry.backoff.attempts, retryInMs: ms }, 'ACW pause did not take: tried again later')
    if (retry.timer !== undefined) this.deps.clock.clearTimeout(retry.timer)
    const current = retry
    retry.timer = this.deps.clock.setTimeout(() => {
      current.timer = undefined
      const e = this.deps.repo.get(agentId)
      if (e === undefined || e.state === 'ending') { this.stopPauseRetries(agentId); return }
      this.background(this.apply(agentId, true), agentId)
    }, ms)
  }

  /** Marks the agent's pause as owed by a step after a commit; the returned function clears this mark. */
  private owePause (agentId: string): () => void {
    const token = Symbol(agentId)
    this.pauseAfterCommit.set(agentId, token)
    return () => { if (this.pauseAfterCommit.get(agentId) === token) this.pauseAfterCommit.delete(agentId) }
  }

  private stopPauseRetries (agentId: string): void {
    const retry = this.pauseRetries.get(agentId)
    if (retry?.timer !== undefined) this.deps.clock.clearTimeout(retry.timer)
    this.pauseRetries.delete(agentId)
  }

  /** Unpaused behind our back during ACW (a console, another tool, the phone). */
  private unpausedDuringAcw (agentId: string): void {
    const e = this.deps.repo.get(agentId)
    if (e === undefined || e.state === 'ending' || this.stopped) return
    // The SOP says no call before ACW ends, so the pause goes back on; the API ends ACW properly.
    this.deps.log.warn({ agentId, callId: e.callId }, 'agent unpaused by someone else during ACW: pause re-applied (end ACW through the API instead)')
    this.background(this.apply(agentId, true), agentId)
  }

  /** Our change is over: an unpause Asterisk reported after our confirmation is handled now. */
  private settled (agentId: string): void {
    const n = (this.applying.get(agentId) ?? 1) - 1
    if (n > 0) { this.applying.set(agentId, n); return }
    this.applying.delete(agentId)
    const last = this.seen.get(agentId)
    this.seen.delete(agentId)
    if (last === false) this.unpausedDuringAcw(agentId)
  }

  /**
   * Sends QueuePause and waits for Asterisk's QueueMemberPause; retries, then reports.
   * Resolves false when it could not be confirmed (AMI down, or never took effect).
   * Uses the interface and reason recorded with the ACW, so one begun under another
   * config is undone as it was made.
   */
  private async apply (agentId: string, paused: boolean): Promise<boolean> {
    const e = this.deps.repo.get(agentId)
    const iface = this.agentOf(agentId)?.interface ?? e?.interface
    if (iface === undefined || this.stopped) return false
    const reason = e?.pauseReason ?? this.deps.settings.pauseReason
    if (this.agentOf(agentId) === undefined) return paused ? false : await this.unpauseGone(agentId, iface, reason)
    this.applying.set(agentId, (this.applying.get(agentId) ?? 0) + 1)
    try {
      for (let attempt = 0; attempt <= this.deps.settings.pauseRetries; attempt++) {
        const confirmed = this.waitFor(agentId, paused, reason)
        try {
          await this.deps.pbx.setPaused(iface, paused, reason)
        } catch (err) {
          confirmed.cancel()
          const code = (err as { code?: string }).code
          if (code === 'AMI_UNAVAILABLE' || code === 'AMI_CONNECTION_LOST') {
            this.deps.log.warn({ agentId, paused, err: { code } }, 'QueuePause not possible now; re-applied when AMI is back')
            return false
          }
          this.deps.log.warn({ agentId, paused, attempt, err: { code, message: (err as Error).message } }, 'QueuePause failed')
          continue
        }
        if (await confirmed.promise) return this.took(agentId, paused)
        if (this.stopped) return false
        // Already in that state: Asterisk may not announce a change that is no change.
        const now = this.deps.pauseOf(agentId)
        if (now !== undefined && this.isWanted(paused, reason, now.paused, now.reason)) return this.took(agentId, paused)
        this.deps.log.warn({ agentId, paused, attempt }, 'QueuePause not confirmed by Asterisk; retrying')
      }
      this.deps.log.error({ agentId, paused }, `QueuePause did not take effect after ${this.deps.settings.pauseRetries + 1} attempts`)
      this.emit('pauseFailed', agentId, paused)
      if (paused) this.retryPauseLater(agentId)
      return false
    } finally {
      this.settled(agentId)
    }
  }

  /**
   * Unpauses the interface of an agent no longer in the config. The call tracker does
   * not follow that member, so no QueueMemberPause confirms it: Asterisk's answer is
   * what there is. "Interface not found": the member left the queues, nothing is paused.
   */
  private async unpauseGone (agentId: string, iface: string, reason: string): Promise<boolean> {
    try {
      await this.deps.pbx.setPaused(iface, false, reason)
      return true
    } catch (err) {
      if (/interface not found/i.test((err as Error).message)) return true
      this.deps.log.warn({ agentId, interface: iface, err: { code: (err as { code?: string }).code, message: (err as Error).message } }, 'unpause of an agent no longer in the config failed')
      return false
    }
  }

  /** A change that took: a pause no longer needs its retries. */
  private took (agentId: string, paused: boolean): true {
    if (paused) this.stopPauseRetries(agentId)
    return true
  }

  /** The member's state (`paused`, `reason`) is the one asked for (`want`, `wantReason`): unpaused, or paused for ACW. */
  private isWanted (want: boolean, wantReason: string, paused: boolean, reason: string): boolean {
    return paused === want && (!want || reason === wantReason)
  }

  private waitFor (agentId: string, paused: boolean, reason: string): { promise: Promise<boolean>, cancel: () => void } {
    let waiter: Waiter | undefined
    let timer: unknown
    const promise = new Promise<boolean>(resolve => {
      waiter = { paused, reason, resolve: (ok) => { this.deps.clock.clearTimeout(timer); resolve(ok) } }
      this.waiters.set(agentId, [...(this.waiters.get(agentId) ?? []), waiter])
      timer = this.deps.clock.setTimeout(() => { this.drop(agentId, waiter); resolve(false) }, this.deps.confirmTimeoutMs)
    })
    return { promise, cancel: () => { this.deps.clock.clearTimeout(timer); this.drop(agentId, waiter) } }
  }

  private drop (agentId: string, w: Waiter | undefined): void {
    const list = (this.waiters.get(agentId) ?? []).filter(x => x !== w)
    if (list.length > 0) this.waiters.set(agentId, list); else this.waiters.delete(agentId)
  }
}
