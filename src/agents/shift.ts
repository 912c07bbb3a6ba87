// The agent's shift (CONTRACT.md section 7, issue 15): login at the phone of today
// (QueueAdd to the agent's queues), logout (QueueRemove), pauses for a configured
// reason, and the status asked for during a call or ACW ("next"), started when ACW
// ends and never earlier. Logged-in agents are kept in the store: a service restart
// loads them, an Asterisk restart (dynamic members are gone) adds them back.
//
// Only ACW is enforced. A pause or unpause made at the phone or by another tool
// outside ACW is reflected here (from QueueMemberPause), never undone.
import { EventEmitter } from 'node:events'
import type { AuditSink } from '../audit/log.ts'
import { Errors, withDetails } from '../errors.ts'
import type { Log } from '../log.ts'
import { interfaceProblem } from './interface.ts'
import type { AgentSession, NextStatus, SessionRepository } from './session.ts'

/** The agent as configured (today config.agents; the run-time directory later). */
/** `interface` absent: an agent created without a phone (admin API); it gives one at login. */
export interface ShiftAgent { id: string, interface?: string, queues: readonly string[], memberName?: string }

export interface PauseReason { code: string, label: string, maxMinutes: number }

/** What a shift needs from the PBX: app_queue's member actions (src/wiring/shift.ts adapts the AMI). */
export interface QueueMemberPort {
  /** QueueAdd; resolves 'already' when Asterisk answers that the member is there (a static member, say). */
  add: (queue: string, iface: string, memberName: string, paused: boolean) => Promise<'added' | 'already'>
  /** QueueRemove; 'absent' when it was not there, 'static' for a member of queues.conf (not dynamic). */
  remove: (queue: string, iface: string) => Promise<'removed' | 'absent' | 'static'>
  /** QueuePause in every queue of the member. */
  pause: (iface: string, paused: boolean, reason?: string) => Promise<void>
}

/** What the shift reads of the live picture (the tracker) and of ACW. */
export interface ShiftView {
  /** undefined for an agent the tracker does not follow */
  status: (agentId: string) => { online: boolean, paused: boolean, reason: string, onCall: boolean } | undefined
  /** ACW (or the hold ahead of a transfer) is running for the agent */
  inAcw: (agentId: string) => boolean
}

export interface Actor { name: string, role: string }

export interface ShiftDeps {
  repo: SessionRepository
  pbx: QueueMemberPort
  agentOf: (agentId: string) => ShiftAgent | undefined
  /** every agent id (for INTERFACE_IN_USE) */
  agentIds: () => readonly string[]
  technologies: readonly string[]
  reasons: readonly PauseReason[]
  acw: { mode: 'fixed' | 'early-exit', pauseReason: string, complete: (agentId: string, by: Actor) => Promise<void> }
  view: ShiftView
  audit: AuditSink
  log: Log
  /** Wall-clock time and timers (the over-max alarm); Date.now and Node's timers when absent. */
  clock?: { now: () => number, setTimeout: (fn: () => void, ms: number) => unknown, clearTimeout: (handle: unknown) => void }
  /** Throws (503 STORE_UNAVAILABLE) while the store cannot take writes: nothing is sent to Asterisk then. */
  assertStoreReady?: (what: string) => void
  /** Awaits a change's durability for a request (src/calls/durable.ts); the plain promise when absent. */
  durable?: (saved: Promise<void>, what: string) => Promise<void>
  /** The interfaces changed (a login at another phone, a logout): the tracker re-reads them. */
  interfacesChanged?: () => void
  /** The agent is no member any more (logout): the tracker marks it offline. */
  memberGone?: (agentId: string) => void
}

export type ShiftResult = { done: true } | { pending: 'logout' } | { next: NextStatus }

interface Pause { reason: string, since: string }

const SYSTEM: Actor = { name: 'pln123-cti', role: 'system' }

export class ShiftService extends EventEmitter<{ change: [agentId: string], overMax: [agentId: string, reason: string, since: string] }> {
  /** Pauses and next statuses of agents not logged in through the API (static members): memory only. */
  private readonly pauses = new Map<string, Pause>()
  private readonly nexts = new Map<string, NextStatus>()
  private readonly overMaxTimers = new Map<string, unknown>()
  private readonly now: () => number
  private readonly clock: NonNullable<ShiftDeps['clock']>

  constructor (private readonly deps: ShiftDeps) {
    super()
    this.clock = deps.clock ?? {
      now: Date.now,
      // unref'd: a long break's alarm does not keep a stopping process alive
      setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
      clearTimeout: h => { clearTimeout(h as NodeJS.Timeout) }
    }
    this.now = this.clock.now
  }

  /** The configured pause reasons (config pauseReasons), for the panels' pause menu. */
  get reasons (): readonly PauseReason[] { return this.deps.reasons }

  session (agentId: string): AgentSession | undefined { return this.deps.repo.get(agentId) }

  /** The phone the agent sits at today: the login's, else the configured one. */
  interfaceOf (agentId: string): string | undefined { return this.session(agentId)?.interface ?? this.deps.agentOf(agentId)?.interface }

  /** The agent with its interface and queues of today, for ACW and the tracker. */
  current (agentId: string): ShiftAgent | undefined {
    const a = this.deps.agentOf(agentId)
    if (a === undefined) return undefined
    const s = this.session(agentId)
    return s === undefined ? a : { ...a, interface: s.interface, queues: s.queues }
  }

  pauseOf (agentId: string): Pause | undefined {
    const s = this.session(agentId)
    if (s !== undefined) return s.pauseReason !== undefined ? { reason: s.pauseReason, since: s.pausedSince ?? s.since } : undefined
    return this.pauses.get(agentId)
  }

  nextOf (agentId: string): NextStatus | undefined { return this.session(agentId)?.next ?? this.nexts.get(agentId) }

  /** A configured reason's pause that lasts longer than its maxMinutes. */
  overMax (agentId: string): boolean {
    const p = this.pauseOf(agentId)
    const r = p === undefined ? undefined : this.deps.reasons.find(x => x.code === p.reason)
    return p !== undefined && r !== undefined && this.now() - Date.parse(p.since) > r.maxMinutes * 60_000
  }

  async login (agentId: string, ask: { interface?: string, queues?: string[] }, by: Actor): Promise<AgentSession> {
    const a = this.agent(agentId)
    this.deps.assertStoreReady?.(`agent ${agentId}'s login was not made`)
    const iface = ask.interface ?? a.interface
    if (iface === undefined) throw withDetails(new Errors.BadRequest(`interface: agent ${agentId} has no phone of its own: give the interface to log in at`), { field: 'interface' })
    const problem = interfaceProblem(iface, this.deps.technologies)
    if (problem !== undefined) throw withDetails(new Errors.BadRequest(`interface: ${problem}`), { field: 'interface' })
    const queues = ask.queues ?? [...a.queues]
    const unknown = queues.filter(q => !a.queues.includes(q))
    if (unknown.length > 0) throw withDetails(new Errors.BadRequest(`queues: ${unknown.join(', ')} not among agent ${agentId}'s queues (${a.queues.join(', ')})`), { field: 'queues', allowed: a.queues })
    if (queues.length === 0) throw withDetails(new Errors.BadRequest(`queues: at least one of ${a.queues.join(', ')}`), { field: 'queues', allowed: a.queues })
    const before = this.session(agentId)
    if (before !== undefined && before.interface.toLowerCase() !== iface.toLowerCase()) {
      throw new Errors.AlreadyLoggedIn(`agent ${agentId} is logged in at ${before.interface}: log out first`)
    }
    const holder = this.holderOf(iface, agentId)
    if (holder !== undefined) throw new Errors.InterfaceInUse(`interface ${iface} is in use by agent ${holder}`)

    const session: AgentSession = {
      ...(before ?? {}),
      agentId,
      interface: iface,
      queues: [...new Set([...(before?.queues ?? []), ...queues])],
      since: before?.since ?? new Date(this.now()).toISOString()
    }
    // In memory at once: the QueueMemberAdded that the QueueAdd causes is matched with it.
    const saved = this.deps.repo.save(session)
    this.deps.interfacesChanged?.()
    const added: string[] = []
    try {
      // Paused from the first moment when ACW runs (a static member logging in again).
      const reason = this.pausedFor(agentId, session)
      for (const q of queues) {
        if (await this.deps.pbx.add(q, iface, a.memberName ?? iface, reason !== undefined) === 'added') added.push(q)
      }
      if (reason !== undefined && added.length > 0) await this.deps.pbx.pause(iface, true, reason)
    } catch (err) {
      // Nothing half done: the queues it joined are left, the session is not kept.
      for (const q of added) await this.deps.pbx.remove(q, iface).catch(() => 'absent')
      if (before !== undefined) void this.deps.repo.save(before); else void this.deps.repo.delete(agentId)
      this.deps.interfacesChanged?.()
      throw err
    }
    this.deps.audit.record({ actor: by.name, role: by.role, action: 'agent.login', target: agentId, details: { interface: iface, queues } })
    await this.durable(saved, `agent ${agentId}'s login`)
    this.deps.log.info({ agentId, interface: iface, queues, by: by.name }, 'agent logged in')
    this.emit('change', agentId)
    return session
  }

  async logout (agentId: string, by: Actor): Promise<ShiftResult> {
    this.agent(agentId)
    this.deps.assertStoreReady?.(`agent ${agentId}'s logout was not made`)
    const st = this.deps.view.status(agentId)
    if (st?.onCall === true) throw new Errors.OnCall(`agent ${agentId} is on a call: log out once it is over`)
    if (this.deps.view.inAcw(agentId)) {
      // Fixed ACW (the SOP): no call before it ends, and no logout that would end it early.
      await this.setNext(agentId, { logout: true }, by)
      return { pending: 'logout' }
    }
    await this.removeFromQueues(agentId, by)
    return { done: true }
  }

  async pause (agentId: string, reason: string, by: Actor): Promise<ShiftResult> {
    this.agent(agentId)
    if (!this.deps.reasons.some(r => r.code === reason)) {
      const codes = this.deps.reasons.map(r => r.code)
      throw withDetails(new Errors.BadRequest(`reason: "${reason}" is not a pause reason (allowed: ${codes.join(', ')})`), { field: 'reason', allowed: codes })
    }
    this.deps.assertStoreReady?.(`agent ${agentId}'s pause was not made`)
    const st = this.deps.view.status(agentId)
    if (st?.onCall === true || this.deps.view.inAcw(agentId)) {
      const next: NextStatus = { paused: true, reason }
      await this.setNext(agentId, next, by)
      return { next }
    }
    await this.deps.pbx.pause(this.ifaceOrThrow(agentId), true, reason)
    await this.setPause(agentId, { reason, since: new Date(this.now()).toISOString() }, undefined)
    this.deps.audit.record({ actor: by.name, role: by.role, action: 'agent.pause', target: agentId, details: { reason } })
    return { done: true }
  }

  async ready (agentId: string, by: Actor): Promise<ShiftResult> {
    this.agent(agentId)
    if (this.deps.view.inAcw(agentId)) {
      if (this.deps.acw.mode === 'fixed') throw new Errors.AcwRunning(`agent ${agentId} is in ACW (fixed, SOP): ready once it ends`)
      await this.clearNext(agentId)
      await this.deps.acw.complete(agentId, by)
      return { done: true }
    }
    if (this.deps.view.status(agentId)?.onCall === true) {
      // Ready after this call: nothing to undo at ACW's end.
      await this.clearNext(agentId, by)
      return { done: true }
    }
    await this.deps.pbx.pause(this.ifaceOrThrow(agentId), false)
    await this.setPause(agentId, undefined, undefined)
    this.deps.audit.record({ actor: by.name, role: by.role, action: 'agent.ready', target: agentId })
    return { done: true }
  }

  /**
   * ACW is over: what the agent asked for meanwhile, instead of the unpause (the ACW
   * service calls this). undefined when nothing was asked. Resolves whether it took;
   * ACW tries again later when not.
   */
  afterAcw (agentId: string): Promise<boolean> | undefined {
    const next = this.nextOf(agentId)
    // A hold ahead of a transfer that did not happen ends with the agent still on the
    // call: that is no ACW's end, the next status waits for the real one.
    if (next === undefined || this.deps.view.status(agentId)?.onCall === true) return undefined
    return (async () => {
      try {
        if ('logout' in next) {
          await this.removeFromQueues(agentId, SYSTEM)
        } else {
          await this.deps.pbx.pause(this.ifaceOrThrow(agentId), true, next.reason)
          await this.setPause(agentId, { reason: next.reason, since: new Date(this.now()).toISOString() }, undefined)
          this.deps.audit.record({ actor: SYSTEM.name, role: SYSTEM.role, action: 'agent.pause', target: agentId, details: { reason: next.reason, asked: 'during the call or ACW' } })
        }
        this.deps.log.info({ agentId, next }, 'ACW over: the status asked for meanwhile applied')
        return true
      } catch (err) {
        this.deps.log.warn({ agentId, next, err: { code: (err as { code?: string }).code, message: (err as Error).message } }, 'the status asked for during ACW could not be applied yet')
        return false
      }
    })()
  }

  /** Every QueueMemberPause of an agent: a pause made anywhere is reflected (ACW's own is ACW's). */
  onMemberPause (agentId: string, paused: boolean, reason: string): void {
    if (reason === this.deps.acw.pauseReason && paused) return
    const now = this.pauseOf(agentId)
    if (paused) {
      if (now?.reason === reason) return
      this.background(this.setPause(agentId, { reason, since: new Date(this.now()).toISOString() }, this.nextOf(agentId)), agentId)
    } else if (now !== undefined) {
      this.background(this.setPause(agentId, undefined, this.nextOf(agentId)), agentId)
    }
  }

  /** After an AMI login: dynamic members do not survive an Asterisk restart, so logged-in agents are added back (paused as they were). */
  async reapply (): Promise<void> {
    for (const s of this.deps.repo.all()) {
      const a = this.deps.agentOf(s.agentId)
      if (a === undefined) continue
      const reason = this.pausedFor(s.agentId, s)
      try {
        let added = 0
        for (const q of s.queues) if (await this.deps.pbx.add(q, s.interface, a.memberName ?? s.interface, reason !== undefined) === 'added') added++
        // QueueAdd's pause has no reason: ACW's own must be set, or ACW would take the
        // pause for somebody else's at its end and leave the agent paused.
        if (reason !== undefined && added > 0) await this.deps.pbx.pause(s.interface, true, reason)
        if (added > 0) this.deps.log.info({ agentId: s.agentId, interface: s.interface, queues: s.queues }, 'logged-in agent added back to its queues')
      } catch (err) {
        this.deps.log.error({ agentId: s.agentId, err: { code: (err as { code?: string }).code, message: (err as Error).message } }, 'logged-in agent could not be added back')
      }
    }
  }

  /** After a service restart: pauses loaded with their sessions get their over-max timers again. */
  recover (): void {
    for (const s of this.deps.repo.all()) if (s.pauseReason !== undefined) this.armOverMax(s.agentId)
  }

  stop (): void {
    for (const t of this.overMaxTimers.values()) this.clock.clearTimeout(t)
    this.overMaxTimers.clear()
  }

  /** The reason a member added now must be paused for: ACW's while it runs, else the break's; undefined: unpaused. */
  private pausedFor (agentId: string, s: AgentSession): string | undefined {
    return this.deps.view.inAcw(agentId) ? this.deps.acw.pauseReason : s.pauseReason
  }

  private agent (agentId: string): ShiftAgent {
    const a = this.deps.agentOf(agentId)
    if (a === undefined) throw new Errors.AgentNotFound(`no agent ${agentId}`)
    return a
  }

  private ifaceOrThrow (agentId: string): string {
    this.agent(agentId) // 404 for an agent that does not exist
    const iface = this.interfaceOf(agentId)
    // An agent with no phone of its own and no login is a member of no queue.
    if (iface === undefined) throw new Errors.NotLoggedIn(`agent ${agentId} has no phone of its own and is not logged in: log in first`)
    return iface
  }


  /** Another agent at `iface`: logged in there, or a member there (a static one) that is online. */
  private holderOf (iface: string, agentId: string): string | undefined {
    const want = iface.toLowerCase()
    for (const id of this.deps.agentIds()) {
      if (id === agentId || this.interfaceOf(id)?.toLowerCase() !== want) continue
      if (this.session(id) !== undefined || this.deps.view.status(id)?.online === true) return id
    }
    return undefined
  }

  private async removeFromQueues (agentId: string, by: Actor): Promise<void> {
    const s = this.session(agentId)
    const a = this.agent(agentId)
    const iface = s?.interface ?? a.interface
    const queues = s?.queues ?? a.queues
    const kept: string[] = []
    // No session and no phone of its own: the agent is a member nowhere, nothing to remove.
    if (iface !== undefined) for (const q of queues) if (await this.deps.pbx.remove(q, iface) === 'static') kept.push(q)
    // A member of queues.conf cannot be removed at run time: it stays, and says so.
    if (kept.length > 0) this.deps.log.warn({ agentId, interface: iface, queues: kept }, 'logout: a static member (queues.conf) stays in these queues')
    this.nexts.delete(agentId)
    this.pauses.delete(agentId)
    this.disarmOverMax(agentId)
    const saved = s !== undefined ? this.deps.repo.delete(agentId) : Promise.resolve()
    if (kept.length === 0) this.deps.memberGone?.(agentId)
    this.deps.interfacesChanged?.()
    this.deps.audit.record({ actor: by.name, role: by.role, action: 'agent.logout', target: agentId, details: { interface: iface, queues, ...(kept.length > 0 ? { static: kept } : {}) } })
    await this.durable(saved, `agent ${agentId}'s logout`)
    this.deps.log.info({ agentId, interface: iface, by: by.name }, 'agent logged out')
    this.emit('change', agentId)
  }

  private async setNext (agentId: string, next: NextStatus, by: Actor): Promise<void> {
    const s = this.session(agentId)
    // A pending logout is not replaced by a pause asked after it.
    const before = this.nextOf(agentId)
    const wanted = before !== undefined && 'logout' in before ? before : next
    if (s !== undefined) await this.durable(this.deps.repo.save({ ...s, next: wanted }), `agent ${agentId}'s next status`)
    else this.nexts.set(agentId, wanted)
    this.deps.audit.record({ actor: by.name, role: by.role, action: 'agent.next', target: agentId, details: { next } })
    this.emit('change', agentId)
  }

  private async clearNext (agentId: string, by?: Actor): Promise<void> {
    const s = this.session(agentId)
    if (this.nextOf(agentId) === undefined) return
    this.nexts.delete(agentId)
    if (s !== undefined) {
      const { next: _dropped, ...rest } = s
      await this.durable(this.deps.repo.save(rest), `agent ${agentId}'s next status`)
    }
    if (by !== undefined) this.deps.audit.record({ actor: by.name, role: by.role, action: 'agent.ready', target: agentId, details: { next: 'cleared' } })
    this.emit('change', agentId)
  }

  /** Records the pause (or none) and the next status (none once applied). */
  private async setPause (agentId: string, pause: Pause | undefined, next: NextStatus | undefined): Promise<void> {
    const s = this.session(agentId)
    if (next === undefined) this.nexts.delete(agentId)
    if (pause === undefined) { this.pauses.delete(agentId); this.disarmOverMax(agentId) } else this.pauses.set(agentId, pause)
    if (s !== undefined) {
      const { pauseReason: _r, pausedSince: _s, next: _n, ...rest } = s
      const row: AgentSession = { ...rest, ...(pause !== undefined ? { pauseReason: pause.reason, pausedSince: pause.since } : {}), ...(next !== undefined ? { next } : {}) }
      const saved = this.deps.repo.save(row)
      if (pause !== undefined) this.armOverMax(agentId)
      this.emit('change', agentId)
      await this.durable(saved, `agent ${agentId}'s pause`)
      return
    }
    if (pause !== undefined) this.armOverMax(agentId)
    this.emit('change', agentId)
  }

  /** A timer at the pause's maxMinutes, so watchers hear of it then (the view and the metric compute it anyway). */
  private armOverMax (agentId: string): void {
    this.disarmOverMax(agentId)
    const p = this.pauseOf(agentId)
    const r = p === undefined ? undefined : this.deps.reasons.find(x => x.code === p.reason)
    if (p === undefined || r === undefined) return
    const ms = Date.parse(p.since) + r.maxMinutes * 60_000 - this.now()
    const timer = this.clock.setTimeout(() => {
      this.overMaxTimers.delete(agentId)
      if (!this.overMax(agentId)) return
      this.deps.log.warn({ agentId, reason: p.reason, since: p.since, maxMinutes: r.maxMinutes }, 'pause longer than its maxMinutes')
      this.emit('overMax', agentId, p.reason, p.since)
      this.emit('change', agentId)
    }, Math.max(0, ms) + 1)
    this.overMaxTimers.set(agentId, timer)
  }

  private disarmOverMax (agentId: string): void {
    const t = this.overMaxTimers.get(agentId)
    if (t !== undefined) this.clock.clearTimeout(t)
    this.overMaxTimers.delete(agentId)
  }

  private async durable (saved: Promise<void>, what: string): Promise<void> {
    if (this.deps.durable !== undefined) await this.deps.durable(saved, what); else await saved
  }

  private background (p: Promise<void>, agentId: string): void {
    p.catch((err: unknown) => { this.deps.log.error({ agentId, err }, 'agent pause not recorded') })
  }
}
