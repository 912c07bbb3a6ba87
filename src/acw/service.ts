// ACW enforced by the service (issue: ready -> on_call -> acw -> ready). Every call end
// puts the agent in ACW: the deadline is written to the store first, then the member
// is paused in every queue (QueuePause, Reason ACW) and the pause is confirmed from
// QueueMemberPause events (retried, then reported). At the deadline the member is
// unpaused, unless somebody paused it for another reason meanwhile. A restart keeps
// the original deadline; an Asterisk restart (members come back unpaused) re-applies
// the pause. No agent stays paused because of a timer the service forgot.
import { EventEmitter } from 'node:events'
import { Errors } from '../errors.ts'
import type { AuditSink } from '../audit/log.ts'
import type { Log } from '../log.ts'
import { acwSeconds, type AcwEntry, type AcwRepository, type AcwSettings, type Clock, type PausePort } from './types.ts'

export interface AcwAgent { id: string, interface: string }

export interface AcwDeps {
  repo: AcwRepository
  pbx: PausePort
  clock: Clock
  log: Log
  audit: AuditSink
  agents: readonly AcwAgent[]
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
}

export interface Actor { name: string, role: string }

const SYSTEM: Actor = { name: 'pln123-cti', role: 'system' }

interface Waiter { paused: boolean, resolve: (ok: boolean) => void }

export class AcwService extends EventEmitter<{ change: [agentId: string], pauseFailed: [agentId: string, paused: boolean] }> {
  private readonly timers = new Map<string, unknown>()
  private readonly waiters = new Map<string, Waiter[]>()
  private readonly byId: Map<string, AcwAgent>
  /** Agents whose pause change we asked for and have not seen confirmed yet. */
  private readonly applying = new Set<string>()
  private stopped = false

  constructor (private readonly d: AcwDeps) {
    super()
    this.byId = new Map(d.agents.map(a => [a.id, a]))
  }

  endsAt (agentId: string): string | undefined {
    const e = this.d.repo.get(agentId)
    return e?.state === 'holding' ? undefined : e?.endsAt
  }

  entry (agentId: string): AcwEntry | undefined { return this.d.repo.get(agentId) }

  /** After a restart: keep the original deadlines (or end at once if they passed). */
  recover (): void {
    for (const e of this.d.repo.all()) {
      if (e.state === 'holding' && !this.d.onCall(e.agentId)) {
        // The transfer's outcome was lost with the process: count ACW from now.
        this.activate(e.agentId, e.callId, e.seconds, true)
        continue
      }
      this.schedule(e)
    }
  }

  /** Called once the AMI session (and the call picture) is back: pauses do not survive an Asterisk restart. */
  async reapply (): Promise<void> {
    for (const e of this.d.repo.all()) {
      if (e.state === 'ending' || (e.endsAt !== undefined && Date.parse(e.endsAt) <= this.d.clock.now())) {
        await this.finish(e.agentId, 'ACW time over', SYSTEM)
      } else if (this.d.pauseOf(e.agentId)?.paused !== true) {
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
    const seconds = acwSeconds(this.d.settings, agentId, queue)
    if (seconds === 0 || this.d.repo.get(agentId) !== undefined) return () => {}
    this.d.repo.save({ agentId, callId, startedAt: new Date(this.d.clock.now()).toISOString(), state: 'holding', seconds })
    // Not awaited: QueuePause is written to the AMI session now, before the transfer's
    // BlindTransfer, and Asterisk runs one session's actions in order. Confirmation
    // (and retries) go on in the background without slowing the transfer button.
    return () => { this.background(this.apply(agentId, true), agentId) }
  }

  /**
   * The transfer landed: the hold becomes ACW with its deadline. Runs inside the
   * transaction that records the transfer's outcome (and its APKT record), so the
   * deadline commits with it; the release that follows starts the countdown
   * (onReleased). Nothing but the store is touched here: if that transaction fails,
   * the hold stays as it was.
   */
  recordTransferred (agentId: string, callId: string): void {
    const e = this.d.repo.get(agentId)
    if (e?.state !== 'holding' || e.callId !== callId) return
    this.d.repo.save(this.countdown(agentId, callId, e.seconds))
  }

  /** The transfer did not happen: the agent is still on the call, so no ACW yet. */
  async releaseHold (agentId: string): Promise<void> {
    const e = this.d.repo.get(agentId)
    if (e?.state !== 'holding') return
    await this.finish(agentId, 'transfer did not happen', SYSTEM)
  }

  /** The agent's part in a call is over (hangup on either side, transfer, a call outside the queue). */
  onReleased (agentId: string, callId: string, queue: string | undefined, reason: string): void {
    if (!this.byId.has(agentId)) return
    const entry = this.d.repo.get(agentId)
    const seconds = entry?.seconds ?? acwSeconds(this.d.settings, agentId, queue)
    if (entry?.state === 'active' && entry.callId === callId && entry.endsAt !== undefined) {
      // Recorded with the transfer's outcome (recordTransferred): count down from there.
      this.schedule(entry)
      this.emit('change', agentId)
    } else {
      if (seconds === 0) { this.background(this.releaseHold(agentId), agentId); return }
      this.activate(agentId, callId, seconds, entry?.state !== 'holding')
    }
    this.d.log.info({ agentId, callId, reason, seconds }, 'agent in ACW')
  }

  /** Every QueueMemberPause for a configured agent. */
  onPauseEvent (agentId: string, paused: boolean, reason: string): void {
    const list = this.waiters.get(agentId)
    if (list !== undefined) {
      const keep = list.filter(w => {
        if (this.isWanted(w.paused, paused, reason)) { w.resolve(true); return false }
        return true
      })
      if (keep.length > 0) this.waiters.set(agentId, keep); else this.waiters.delete(agentId)
    }
    const e = this.d.repo.get(agentId)
    if (e === undefined || e.state === 'ending' || this.applying.has(agentId)) return
    if (!paused) {
      // Unpaused behind our back during ACW (a console, another tool): the SOP says no
      // call before ACW ends, so the pause goes back on; the API ends ACW properly.
      this.d.log.warn({ agentId, callId: e.callId }, 'agent unpaused by someone else during ACW: pause re-applied (end ACW through the API instead)')
      this.background(this.apply(agentId, true), agentId)
    }
  }

  /** Early exit by the agent (mode early-exit only). */
  async complete (agentId: string, by: Actor): Promise<void> {
    if (this.d.settings.mode !== 'early-exit') throw new Errors.AcwFixed('ACW mode is fixed (SOP): it cannot be ended early by the agent; a supervisor can end it')
    this.activeEntry(agentId)
    this.d.audit.record({ actor: by.name, role: by.role, action: 'acw.complete', target: agentId })
    await this.finish(agentId, 'ended early by the agent', by)
  }

  /** A supervisor extends or ends an agent's ACW, whatever the mode. */
  async supervise (agentId: string, by: Actor, change: { extendSeconds?: number, end?: boolean }): Promise<AcwEntry | undefined> {
    const e = this.activeEntry(agentId)
    if (change.end === true) {
      this.d.audit.record({ actor: by.name, role: by.role, action: 'acw.end', target: agentId, details: { endsAt: e.endsAt } })
      await this.finish(agentId, 'ended by a supervisor', by)
      return undefined
    }
    const extend = change.extendSeconds ?? 0
    const from = e.endsAt !== undefined ? Date.parse(e.endsAt) : this.d.clock.now()
    const next: AcwEntry = { ...e, endsAt: new Date(from + extend * 1000).toISOString(), seconds: e.seconds + extend }
    this.d.repo.save(next)
    this.d.audit.record({ actor: by.name, role: by.role, action: 'acw.extend', target: agentId, details: { extendSeconds: extend, endsAt: next.endsAt } })
    this.d.log.info({ agentId, by: by.name, extendSeconds: extend, endsAt: next.endsAt }, 'ACW extended')
    this.schedule(next)
    this.emit('change', agentId)
    return next
  }

  /** On shutdown: no timer fires and nothing touches the store afterwards. */
  stop (): void {
    this.stopped = true
    for (const h of this.timers.values()) this.d.clock.clearTimeout(h)
    this.timers.clear()
    for (const list of this.waiters.values()) for (const w of list) w.resolve(false)
    this.waiters.clear()
  }

  private background (p: Promise<unknown>, agentId: string): void {
    p.catch((err: unknown) => {
      if (this.stopped) return
      this.d.log.error({ agentId, err }, 'ACW step failed')
      this.d.onError?.(err)
    })
  }

  private activeEntry (agentId: string): AcwEntry {
    if (!this.byId.has(agentId)) throw new Errors.AgentNotFound(`no agent ${agentId}`)
    const e = this.d.repo.get(agentId)
    if (e === undefined || e.state === 'holding') throw new Errors.NotInAcw(`agent ${agentId} is not in ACW`)
    return e
  }

  /** ACW of `seconds` counted from now. */
  private countdown (agentId: string, callId: string | undefined, seconds: number): AcwEntry {
    const now = this.d.clock.now()
    return { agentId, ...(callId !== undefined ? { callId } : {}), startedAt: new Date(now).toISOString(), endsAt: new Date(now + seconds * 1000).toISOString(), state: 'active', seconds }
  }

  private activate (agentId: string, callId: string | undefined, seconds: number, pause: boolean): void {
    const e = this.countdown(agentId, callId, seconds)
    this.d.repo.save(e) // the deadline is durable before the PBX hears anything
    this.d.failpoint?.('acw:saved')
    this.schedule(e)
    this.emit('change', agentId)
    if (pause) this.background(this.apply(agentId, true).then(() => { if (!this.stopped) this.d.failpoint?.('acw:paused') }), agentId)
  }

  private schedule (e: AcwEntry): void {
    const old = this.timers.get(e.agentId)
    if (old !== undefined) this.d.clock.clearTimeout(old)
    this.timers.delete(e.agentId)
    if (e.endsAt === undefined) return
    const ms = Math.max(0, Date.parse(e.endsAt) - this.d.clock.now())
    this.timers.set(e.agentId, this.d.clock.setTimeout(() => {
      this.timers.delete(e.agentId)
      this.background(this.finish(e.agentId, 'ACW time over', SYSTEM), e.agentId)
    }, ms))
  }

  /** Ends ACW: unpause (unless paused by someone else), then forget the deadline. */
  private async finish (agentId: string, why: string, by: Actor): Promise<void> {
    if (this.stopped) return
    const e = this.d.repo.get(agentId)
    if (e === undefined) return
    const t = this.timers.get(agentId)
    if (t !== undefined) { this.d.clock.clearTimeout(t); this.timers.delete(agentId) }
    if (e.state !== 'ending') this.d.repo.save({ ...e, state: 'ending' })
    this.d.failpoint?.('acw:ending')
    const p = this.d.pauseOf(agentId)
    if (p !== undefined && p.paused && p.reason !== this.d.settings.pauseReason) {
      this.d.log.info({ agentId, callId: e.callId, pausedReason: p.reason }, 'ACW over; agent stays paused: paused by someone else for another reason')
    } else {
      const ok = await this.apply(agentId, false)
      if (!ok || this.stopped) return // kept as 'ending'; retried when AMI is back (reapply) or at the next start
    }
    this.d.repo.delete(agentId)
    this.d.log.info({ agentId, callId: e.callId, why, by: by.name }, 'ACW ended')
    this.emit('change', agentId)
  }

  /**
   * Sends QueuePause and waits for Asterisk's QueueMemberPause; retries, then reports.
   * Resolves false when it could not be confirmed (AMI down, or never took effect).
   */
  private async apply (agentId: string, paused: boolean): Promise<boolean> {
    const agent = this.byId.get(agentId)
    if (agent === undefined || this.stopped) return false
    this.applying.add(agentId)
    try {
      for (let attempt = 0; attempt <= this.d.settings.pauseRetries; attempt++) {
        const confirmed = this.waitFor(agentId, paused)
        try {
          await this.d.pbx.setPaused(agent.interface, paused, this.d.settings.pauseReason)
        } catch (err) {
          confirmed.cancel()
          const code = (err as { code?: string }).code
          if (code === 'AMI_UNAVAILABLE' || code === 'AMI_CONNECTION_LOST') {
            this.d.log.warn({ agentId, paused, err: { code } }, 'QueuePause not possible now; re-applied when AMI is back')
            return false
          }
          this.d.log.warn({ agentId, paused, attempt, err: { code, message: (err as Error).message } }, 'QueuePause failed')
          continue
        }
        if (await confirmed.promise) return true
        if (this.stopped) return false
        // Already in that state: Asterisk may not announce a change that is no change.
        const now = this.d.pauseOf(agentId)
        if (now !== undefined && this.isWanted(paused, now.paused, now.reason)) return true
        this.d.log.warn({ agentId, paused, attempt }, 'QueuePause not confirmed by Asterisk; retrying')
      }
      this.d.log.error({ agentId, paused }, `QueuePause did not take effect after ${this.d.settings.pauseRetries + 1} attempts`)
      this.emit('pauseFailed', agentId, paused)
      return false
    } finally {
      this.applying.delete(agentId)
    }
  }

  /** The member's state (`paused`, `reason`) is the one asked for: unpaused, or paused for ACW. */
  private isWanted (want: boolean, paused: boolean, reason: string): boolean {
    return paused === want && (!want || reason === this.d.settings.pauseReason)
  }

  private waitFor (agentId: string, paused: boolean): { promise: Promise<boolean>, cancel: () => void } {
    let waiter: Waiter | undefined
    let timer: unknown
    const promise = new Promise<boolean>(resolve => {
      waiter = { paused, resolve: (ok) => { this.d.clock.clearTimeout(timer); resolve(ok) } }
      this.waiters.set(agentId, [...(this.waiters.get(agentId) ?? []), waiter])
      timer = this.d.clock.setTimeout(() => { this.drop(agentId, waiter); resolve(false) }, this.d.confirmTimeoutMs)
    })
    return { promise, cancel: () => { this.d.clock.clearTimeout(timer); this.drop(agentId, waiter) } }
  }

  private drop (agentId: string, w: Waiter | undefined): void {
    const list = (this.waiters.get(agentId) ?? []).filter(x => x !== w)
    if (list.length > 0) this.waiters.set(agentId, list); else this.waiters.delete(agentId)
  }
}
