// Who is talking to whom: calls and agents, fed by normalized AMI events (one handler
// per event name, in the table below), by CTI events from the dialplan or a middleware,
// and by a resync from live channels after every (re)connect. It decides which
// transition an event means; the transitions themselves (saved, logged from → to,
// announced) and what an outcome causes belong to lifecycle.ts and outcome-effects.ts.
import { EventEmitter } from 'node:events'
import type { AmiEvent, KnownAmiEvent } from '../ami/events.ts'
import type { Log } from '../log.ts'
import { AgentStatuses, presenceOf, type AgentStatus } from './agent-status.ts'
import { channelMatcher } from './interfaces.ts'
import { CallLifecycle, type CallObserver } from './lifecycle.ts'
import type { Outcome, OutcomeEffect } from './outcome-effects.ts'
import type { CallRepository } from './repository.ts'
import { NOT_MADE, transferVerdict, type TransferTarget } from './transfer-verdict.ts'
import { ACTIVE_STATES, isFinished, type Call, type ChannelSnapshot, type Landing, type LandingStatus, type MemberSnapshot } from './types.ts'

/** `interface` absent: an agent created without a phone; no channel is matched to it until it has one. */
export interface TrackedAgent { id: string, interface?: string, queues: readonly string[] }

/**
 * Where the tracker reads the agents from: their ids (the agent directory's) and each
 * one's interface of today (the login's, else the configured one). Asked again on
 * refreshAgents(), after a directory change or a login or logout moved an agent.
 */
export interface AgentLookup {
  ids: () => readonly string[]
  get: (agentId: string) => TrackedAgent | undefined
  /** Logged in at that interface through the API: wins over another agent configured there (offline, else the login was refused). */
  loggedIn?: (agentId: string) => boolean
}

/** A fixed list as a lookup (tests, the bench). */
export const agentList = (agents: readonly TrackedAgent[]): AgentLookup => {
  const copy = agents.map(a => ({ ...a, queues: [...a.queues] }))
  return { ids: () => copy.map(a => a.id), get: id => copy.find(a => a.id === id) }
}

export type { Outcome, OutcomeEffect } from './outcome-effects.ts'
export type { TransferTarget } from './transfer-verdict.ts'

export interface CtiEvent {
  type: 'call.offered' | 'call.answered' | 'call.ended' | 'agent.login' | 'agent.logout'
  callId?: string
  agentId?: string
  at?: string
  data?: { callerIdNum?: string, callerIdName?: string, customerChannel?: string, agentChannel?: string, queue?: string, reason?: string }
}

export type { ChannelSnapshot, MemberSnapshot } from './types.ts'

export type { AgentStatus } from './agent-status.ts'

interface TrackerEvents {
  call: [Call]
  agent: [string]
  /** the agent's part in a call is over (hangup on either side, or transferred) */
  released: [agentId: string, call: Call, reason: string]
  /** a BlindTransfer event concerning a tracked call */
  transfer: [callId: string, success: boolean, result: string]
  /** app_queue is done with the call's agent (its AgentComplete: it wrote COMPLETECALLER/COMPLETEAGENT or BLINDTRANSFER to queue_log first) */
  queueComplete: [callId: string]
  /** a QueueMemberPause for a configured agent */
  memberPause: [agentId: string, paused: boolean, reason: string]
  /** an outcome was recorded (after its transaction committed, unlike the outcome effects) */
  outcome: [call: Call, outcome: Outcome]
  /** a transferring call was found still with its agent: connected again (ACW's hold is to go) */
  notTransferred: [call: Call]
  /** a transferred customer's landing at the target reached its final status (once per call, after the commit) */
  landing: [call: Call, landing: Landing]
}

/**
 * Q.850 hangup causes that mean the target failed when they end a customer still
 * waiting there (its dialplan signalled it on the customer's own channel), as the
 * DialStatus word Asterisk would have used.
 */
const FAILED_BY_CAUSE: ReadonlyMap<number, string> = new Map([
  [17, 'BUSY'],
  [34, 'CONGESTION'], [38, 'CONGESTION'], [41, 'CONGESTION'], [42, 'CONGESTION'], [44, 'CONGESTION'],
  [18, 'NOANSWER'], [19, 'NOANSWER'],
  [1, 'CHANUNAVAIL'], [3, 'CHANUNAVAIL'], [20, 'CHANUNAVAIL'], [27, 'CHANUNAVAIL']
])

/** How many finished calls stay in memory. */
const RECENT_FINISHED = 2000

type AmiHandlers = { [E in KnownAmiEvent['event']]?: (ev: Extract<KnownAmiEvent, { event: E }>) => void }

export class CallTracker extends EventEmitter<TrackerEvents> {
  /** The one owner of a call's transitions; src/transfer and inquiry.ts call it too. */
  readonly lifecycle: CallLifecycle
  private readonly calls = new Map<string, Call>()
  private readonly byChannel = new Map<string, string>()
  private agentByInterface = new Map<string, string>()
  private agentOfChannel: (channel: string) => string | undefined = () => undefined
  private agents: AgentLookup
  private readonly status: AgentStatuses
  /** why the agent left a call that is still up, to name why the call ended */
  private readonly releasedBecause = new Map<string, string>()
  /**
   * A target's DialEnd seen while the press is still waiting for Asterisk's BlindTransfer
   * event: Asterisk publishes the two from different threads, and a target that answers
   * at once can be heard first. Applied once the call is transferred.
   */
  private readonly earlyLanding = new Map<string, { status: Exclude<LandingStatus, 'waiting'>, cause?: string }>()
  /**
   * Finished calls, the most recent ones: late events (app_queue's word on who hung up)
   * and views find them without a store read. Older ones are in the store only (find()).
   */
  private readonly recent = new Map<string, Call>()
  /**
   * A count of the news a resync's lists can predate (member events; a call offered or
   * answered by an AMI or CTI event), and the count at each agent's and live call's
   * last news. The lists come in with whatever Asterisk and the dialplan said after
   * them (the picture is applied once both lists are in): an agent or call with news
   * after the lists were asked for is left as that news says, not judged by them (a
   * call answered meanwhile is not in the channel list: it is not over).
   */
  private news = 0
  private readonly lastMemberNews = new Map<string, number>()
  private readonly lastCallNews = new Map<string, number>()
  /** The call each agent was last released from (an AgentComplete without its call's fields is about it). */
  private readonly lastCallOf = new Map<string, string>()

  /** AMI event name → its handler; events not listed change nothing here. */
  private readonly amiHandlers: AmiHandlers = {
    AgentCalled: ev => this.onAgentCalled(ev),
    AgentConnect: ev => this.onAgentConnect(ev),
    AgentComplete: ev => this.onAgentComplete(ev),
    BlindTransfer: ev => this.onBlindTransfer(ev),
    Hangup: ev => this.onHangup(ev),
    QueueMemberStatus: ev => this.onMemberState(ev),
    QueueMemberAdded: ev => this.onMemberState(ev),
    QueueMemberPause: ev => this.onMemberPause(ev),
    QueueMemberRemoved: ev => this.onMemberRemoved(ev),
    BridgeEnter: ev => this.onBridgeEnter(ev),
    DialEnd: ev => this.onDialEnd(ev)
  }

  constructor (
    agents: readonly TrackedAgent[] | AgentLookup,
    private readonly repo: CallRepository,
    private readonly log: Log,
    private readonly now: () => Date = () => new Date()
  ) {
    super()
    this.agents = Array.isArray(agents) ? agentList(agents as readonly TrackedAgent[]) : agents as AgentLookup
    this.status = new AgentStatuses(agentId => { this.emit('agent', agentId) })
    this.refreshAgents()
    this.lifecycle = new CallLifecycle({
      repo,
      log,
      now,
      find: callId => this.get(callId),
      remember: call => { this.remember(call) },
      announce: (call, outcome) => { this.announce(call, outcome) }
    })
  }

  /**
   * The agents to track from now on (the agent directory's, after each change): channels
   * and queue members are matched to these. An agent added starts offline (the next
   * QueueMemberStatus or resync tells); one removed is forgotten (the admin refuses to
   * remove an agent on a call or in ACW, so no call loses its agent here).
   */
  setAgents (agents: readonly TrackedAgent[]): void {
    this.agents = agentList(agents)
    this.refreshAgents()
  }


  /** Calls that were live when the service stopped; resync() settles what became of them. */
  async load (): Promise<number> {
    const open = await this.repo.loadUnfinished()
    for (const c of open) this.remember(c)
    return open.length
  }

  /** What an outcome causes inside its transaction, in order: see outcome-effects.ts. */
  setOutcomeEffects (effects: readonly OutcomeEffect[]): void { this.lifecycle.setOutcomeEffects(effects) }

  /** Who sees every change of a call inside its transaction (the report facts). */
  setCallObservers (observers: readonly CallObserver[]): void { this.lifecycle.setObservers(observers) }

  /** A call the tracker holds: live, or finished recently. */
  get (callId: string): Call | undefined { return this.calls.get(callId) ?? this.recent.get(callId) }

  /** Any call: from memory, else from the store. */
  async find (callId: string): Promise<Call | undefined> { return this.get(callId) ?? await this.repo.get(callId) }

  /**
   * Any call, brought back into memory when only the store holds it (a finished call
   * drops out of memory), so that a change can still be made to it: a wrap-up made
   * final when the ACW of a call finished before a restart ends.
   */
  async recall (callId: string): Promise<Call | undefined> {
    const here = this.get(callId)
    if (here !== undefined) return here
    const stored = await this.repo.get(callId)
    // Unfinished calls were loaded at start: only a finished one comes back (to `recent`).
    if (stored !== undefined && this.get(callId) === undefined && isFinished(stored)) this.remember(stored)
    return this.get(callId) ?? stored
  }

  agentStatus (agentId: string): AgentStatus | undefined { return this.status.get(agentId) }

  currentCallOf (agentId: string): Call | undefined {
    const id = this.status.get(agentId)?.callId
    return id === undefined ? undefined : this.calls.get(id)
  }

  liveCalls (): Call[] { return [...this.calls.values()].filter(c => ACTIVE_STATES.has(c.state)) }

  agentIds (): string[] { return [...this.agents.ids()] }

  /**
   * Reads the agents' interfaces again (a login at another phone, a logout): the maps
   * AMI events are matched with are worked out here once, not on every event.
   */
  refreshAgents (): void {
    const all = this.agents.ids().map(id => this.agents.get(id)).filter((a): a is TrackedAgent => a !== undefined)
    // One agent per interface, the logged-in one first, so every event of a phone names one agent.
    const loggedIn = this.agents.loggedIn ?? (() => false)
    const byIface = new Map<string, { id: string, interface: string }>()
    for (const a of [...all.filter(x => loggedIn(x.id)), ...all.filter(x => !loggedIn(x.id))]) {
      if (a.interface !== undefined && !byIface.has(a.interface.toLowerCase())) byIface.set(a.interface.toLowerCase(), { id: a.id, interface: a.interface })
    }
    const phones = [...byIface.values()]
    this.agentOfChannel = channelMatcher(phones)
    this.agentByInterface = new Map(phones.map(a => [a.interface.toLowerCase(), a.id]))
    // New agents start offline, removed ones are forgotten (each announced).
    this.status.sync(all.map(a => a.id))
  }


  /** The agent left every queue (a logout): no QueueMemberRemoved may name it once its interface is no longer its own. */
  memberGone (agentId: string): void {
    this.memberEvent(agentId)
    this.status.set(agentId, { presence: 'offline', paused: false, pausedReason: '' })
  }

  /** Pass to resync() what this returned before its lists were asked for (see lastMemberNews). */
  newsMark (): number { return this.news }

  private memberEvent (agentId: string): void { this.lastMemberNews.set(agentId, ++this.news) }

  /** Live calls only: forget() drops the mark with the call, so finished calls leave none behind. */
  private callNews (callId: string): void { if (this.calls.has(callId)) this.lastCallNews.set(callId, ++this.news) }

  /** Whether `channel` is a leg of `agentId`'s device (the matching the AMI events use). */
  isAgentLeg (agentId: string, channel: string): boolean { return this.agentOfChannel(channel) === agentId }

  /**
   * A transferring call whose customer is still with the agent, found so after the
   * press gave up on it: the transfer was not made, the call is connected again and
   * may be transferred by a new press; ACW's hold is to go ('notTransferred').
   */
  backToAgent (callId: string, message: string): Call | undefined {
    const call = this.get(callId)
    if (call?.state !== 'transferring') return call
    const next = this.lifecycle.backToAgent(callId, { status: 'failed', target: call.transfer?.target ?? 0, at: call.transfer?.at ?? this.now().toISOString(), message })
    this.emit('notTransferred', next)
    return next
  }

  /**
   * Settles a transferring call whose outcome is unknown from its live channels
   * (CoreShowChannels): the customer at the target is transferred, still bridged with
   * the agent is connected again, gone is ended. Returns the state reached, or
   * undefined when the channels do not tell yet (or the call is not transferring).
   */
  settleTransfer (callId: string, channels: readonly ChannelSnapshot[], target?: TransferTarget): 'transferred' | 'connected' | 'ended' | undefined {
    const call = this.get(callId)
    if (call?.state !== 'transferring') return undefined
    const verdict = transferVerdict(call, channels, target)
    if (verdict === 'connected') {
      this.backToAgent(callId, NOT_MADE)
    } else if (verdict === 'transferred') {
      const customer = channels.find(c => c.channel === call.customerChannel) as ChannelSnapshot
      this.transferred(callId, customer.context, customer.exten)
    } else if (verdict === 'ended') {
      const reason = 'the customer hung up while the transfer was unconfirmed'
      if (call.agentId !== undefined) this.release(call.agentId, callId, reason)
      this.end(callId, reason)
    }
    if (verdict !== undefined) this.log.info({ callId, agentId: call.agentId, verdict }, 'unconfirmed transfer settled from the live channels')
    return verdict
  }

  onAmi (ev: AmiEvent): void {
    if (!ev.known) return
    const handle = this.amiHandlers[ev.event] as ((ev: KnownAmiEvent) => void) | undefined
    handle?.(ev)
  }

  onCti (ev: CtiEvent): Call | undefined {
    const d = ev.data ?? {}
    switch (ev.type) {
      case 'call.offered':
        return this.offered(ev.callId as string, d, 'cti', ev.at)
      case 'call.answered':
        this.offered(ev.callId as string, d, 'cti', ev.at)
        return this.answered(ev.callId as string, ev.agentId as string, d, 'cti', ev.at)
      case 'call.ended': {
        const call = this.get(ev.callId as string)
        if (call === undefined) return undefined
        if (call.agentId !== undefined) this.release(call.agentId, call.callId, d.reason ?? 'call ended (CTI)')
        return this.end(call.callId, d.reason ?? 'call ended (CTI)', ev.at)
      }
      case 'agent.login':
        this.status.set(ev.agentId as string, { presence: 'online' })
        return undefined
      case 'agent.logout':
        this.status.set(ev.agentId as string, { presence: 'offline' })
        return undefined
    }
  }

  /**
   * Rebuilds the picture from live channels and queue members after a (re)connect:
   * bridged agent legs are connected calls; callers waiting in Queue are offered
   * calls; calls we knew of whose customer is gone ended while we could not see.
   */
  resync (channels: readonly ChannelSnapshot[], members: readonly MemberSnapshot[], targetOf?: (index: number) => TransferTarget | undefined, asOf?: number): { connected: number, offered: number, ended: number } {
    const newer = (news: Map<string, number>, key: string): boolean => asOf !== undefined && (news.get(key) ?? 0) > asOf
    for (const m of members) {
      const agentId = this.agentByInterface.get(m.interface.toLowerCase())
      if (agentId === undefined) continue
      if (newer(this.lastMemberNews, agentId)) continue
      this.status.set(agentId, { presence: presenceOf(m.status), paused: m.paused, pausedReason: m.pausedReason })
    }
    const live = new Set(channels.map(c => c.channel))
    const byBridge = new Map<string, ChannelSnapshot[]>()
    for (const c of channels) if (c.bridgeId !== '') byBridge.set(c.bridgeId, [...(byBridge.get(c.bridgeId) ?? []), c])
    let connected = 0
    let offered = 0
    for (const peers of byBridge.values()) {
      for (const leg of peers) {
        const agentId = this.agentOfChannel(leg.channel)
        if (agentId === undefined) continue
        const customer = peers.find(p => p !== leg && this.agentOfChannel(p.channel) === undefined)
        if (customer === undefined) continue
        this.offered(customer.linkedid, { customerChannel: customer.channel, callerIdNum: customer.callerIdNum, callerIdName: customer.callerIdName }, 'resync')
        this.answered(customer.linkedid, agentId, { customerChannel: customer.channel, agentChannel: leg.channel }, 'resync')
        connected++
      }
    }
    for (const c of channels) {
      if (c.bridgeId === '' && c.application === 'Queue' && !this.calls.has(c.linkedid)) {
        this.offered(c.linkedid, { customerChannel: c.channel, callerIdNum: c.callerIdNum, callerIdName: c.callerIdName }, 'resync')
        offered++
      }
    }
    let ended = 0
    for (const call of [...this.calls.values()]) {
      if (newer(this.lastCallNews, call.callId)) continue
      const customerHere = call.customerChannel !== undefined && live.has(call.customerChannel)
      const agentHere = call.agentChannel !== undefined && live.has(call.agentChannel)
      // Not only active calls: a release undone because the store was unwritable leaves
      // the agent on a transferred call (release() is a no-op unless the agent is on it).
      if (call.agentId !== undefined && !agentHere) {
        this.release(call.agentId, call.callId, 'call ended while the service could not see it')
      }
      if (call.state === 'transferring' && customerHere) {
        // Both legs still bridged together: the BlindTransfer was never made or did not
        // take (the process was killed between recording "transferring" and sending it,
        // the store failed on the way back, Asterisk never confirmed it). Without this the
        // call stayed "transferring" for good and every later press answered 409 (found
        // by test/faults/sigkill-transfer.test.ts). The customer at the target, or no
        // longer with an agent leg that is gone: transferred. Otherwise it stays open.
        const target = call.transfer !== undefined ? targetOf?.(call.transfer.target) : undefined
        const verdict = transferVerdict(call, channels, target)
        if (verdict === 'connected') {
          this.backToAgent(call.callId, NOT_MADE)
          this.log.warn({ callId: call.callId, agentId: call.agentId }, 'transfer found not made after a resync: call back to connected')
        } else if (verdict === 'transferred' && call.transfer !== undefined) {
          const snap = channels.find(ch => ch.channel === call.customerChannel) as ChannelSnapshot
          this.transferred(call.callId, snap.context, snap.exten)
        }
        continue
      }
      if (call.state === 'transferred' && customerHere) {
        // Bridged there with a leg that is not an agent's: answered at the target while
        // the service could not see it. Otherwise the landing stays as it was.
        const snap = channels.find(ch => ch.channel === call.customerChannel) as ChannelSnapshot
        const peers = snap.bridgeId === '' ? [] : byBridge.get(snap.bridgeId) ?? []
        if (peers.some(p => p !== snap && this.agentOfChannel(p.channel) === undefined)) this.land(call, 'answered')
      }
      if (!customerHere) {
        if (call.state === 'transferred') {
          // Gone while the service could not see it: a landing still waiting was abandoned.
          this.land(call, 'abandoned')
          this.lifecycle.customerLeft(call.callId)
        } else { this.end(call.callId, 'call ended while the service could not see it'); ended++ }
      }
    }
    return { connected, offered, ended }
  }

  // --- AMI event handlers (the table above) ----------------------------------------------

  private onAgentCalled (ev: Extract<KnownAmiEvent, { event: 'AgentCalled' }>): void {
    this.offered(ev.linkedid, { customerChannel: ev.channel, callerIdNum: ev.callerIdNum, callerIdName: ev.callerIdName, queue: ev.queue }, 'ami')
  }

  private onAgentConnect (ev: Extract<KnownAmiEvent, { event: 'AgentConnect' }>): void {
    const agentId = this.agentByInterface.get(ev.interface.toLowerCase())
    if (agentId === undefined) { this.log.warn({ interface: ev.interface, callId: ev.linkedid }, 'call answered by a member that is not a configured agent'); return }
    this.offered(ev.linkedid, { customerChannel: ev.channel, callerIdNum: ev.callerIdNum, callerIdName: ev.callerIdName, queue: ev.queue }, 'ami')
    this.answered(ev.linkedid, agentId, { customerChannel: ev.channel, agentChannel: ev.destChannel }, 'ami')
  }

  private onAgentComplete (ev: Extract<KnownAmiEvent, { event: 'AgentComplete' }>): void {
    const agentId = this.agentByInterface.get(ev.interface.toLowerCase())
    // The caller gone before app_queue published it, AgentComplete can come with no
    // channel fields at all, only the member (seen on the sandbox's Asterisk 22): it is
    // about the agent's call, or the one the agent was just released from (a Hangup first).
    const callId = ev.linkedid !== '' || agentId === undefined ? ev.linkedid : this.status.get(agentId)?.callId ?? this.lastCallOf.get(agentId) ?? ''
    if (callId === '') return
    const reason = ev.reason === 'transfer' ? 'transferred' : ev.reason === 'agent' ? 'agent hung up' : ev.reason === 'caller' ? 'caller hung up' : `call ended (${ev.reason || 'unknown'})`
    this.emit('queueComplete', callId)
    if (agentId !== undefined) this.release(agentId, callId, reason)
    // app_queue knows who hung up; Hangup events of the two legs may come in either order.
    const call = this.get(callId)
    if (call?.state === 'ended' && ev.reason !== 'transfer' && call.endReason !== reason) this.lifecycle.correctEndReason(callId, reason)
  }

  private onBlindTransfer (ev: Extract<KnownAmiEvent, { event: 'BlindTransfer' }>): void {
    const callId = this.byChannel.get(ev.transfererChannel) ?? this.byChannel.get(ev.transfereeChannel)
    if (callId === undefined) return
    this.emit('transfer', callId, ev.success, ev.result)
    if (ev.success) this.transferred(callId, ev.context, ev.extension)
  }

  private onHangup (ev: Extract<KnownAmiEvent, { event: 'Hangup' }>): void {
    const callId = this.byChannel.get(ev.channel)
    if (callId !== undefined) this.hungUp(callId, ev.channel, ev.cause)
  }

  /**
   * The target's Dial for a transferred customer ended (checked on Asterisk 22: the
   * customer's channel is the DialEnd's Channel, whatever leg the target dialled):
   * ANSWER is answered there, CANCEL the customer hanging up while it rang, anything
   * else (BUSY, NOANSWER, CONGESTION, CHANUNAVAIL, ...) the target failed. The queue's
   * own Dials of the same channel come before the transfer and change nothing here.
   */
  private onDialEnd (ev: Extract<KnownAmiEvent, { event: 'DialEnd' }>): void {
    const callId = this.byChannel.get(ev.channel)
    if (callId === undefined || ev.dialStatus === '') return
    const call = this.get(callId)
    if (call === undefined || call.customerChannel !== ev.channel) return
    const verdict = ev.dialStatus === 'ANSWER'
      ? { status: 'answered' as const }
      : ev.dialStatus === 'CANCEL' ? { status: 'abandoned' as const } : { status: 'failed' as const, cause: ev.dialStatus }
    // While transferring the customer is with its agent: a Dial of its channel is the target's.
    if (call.state === 'transferring') { if (!this.earlyLanding.has(callId)) this.earlyLanding.set(callId, verdict); return }
    if (call.state === 'transferred') this.land(call, verdict.status, verdict.cause)
  }

  private onMemberState (ev: Extract<KnownAmiEvent, { event: 'QueueMemberStatus' | 'QueueMemberAdded' | 'QueueMemberPause' }>): string | undefined {
    const agentId = this.agentByInterface.get(ev.interface.toLowerCase())
    if (agentId === undefined) return undefined
    this.memberEvent(agentId)
    this.status.set(agentId, { presence: presenceOf(ev.status), paused: ev.paused, pausedReason: ev.pausedReason })
    return agentId
  }

  private onMemberPause (ev: Extract<KnownAmiEvent, { event: 'QueueMemberPause' }>): void {
    const agentId = this.onMemberState(ev)
    if (agentId !== undefined) this.emit('memberPause', agentId, ev.paused, ev.pausedReason)
  }

  private onMemberRemoved (ev: Extract<KnownAmiEvent, { event: 'QueueMemberRemoved' }>): void {
    const agentId = this.agentByInterface.get(ev.interface.toLowerCase())
    if (agentId === undefined) return
    this.memberEvent(agentId)
    this.status.set(agentId, { presence: 'offline' })
  }

  /**
   * A call that reached the agent's device outside the queue (a direct dial): no
   * AgentConnect, but the agent is busy and gets ACW when it ends.
   */
  private onBridgeEnter (ev: Extract<KnownAmiEvent, { event: 'BridgeEnter' }>): void {
    if (this.byChannel.has(ev.channel) || this.calls.has(ev.linkedid)) return
    const agentId = this.agentOfChannel(ev.channel)
    if (agentId === undefined || this.status.get(agentId)?.callId !== undefined) return
    this.offered(ev.linkedid, { ...(ev.callerIdNum ? { callerIdNum: ev.callerIdNum } : {}) }, 'ami')
    this.answered(ev.linkedid, agentId, { agentChannel: ev.channel }, 'ami')
  }

  // --- what an event means for a call: the transition to ask of the lifecycle ------------

  private offered (callId: string, d: NonNullable<CtiEvent['data']>, source: Call['source'], at?: string): Call {
    const call = this.offer(callId, d, source, at)
    if (source !== 'resync') this.callNews(callId)
    return call
  }

  private offer (callId: string, d: NonNullable<CtiEvent['data']>, source: Call['source'], at?: string): Call {
    const existing = this.get(callId)
    if (existing !== undefined) {
      if (d.customerChannel !== undefined && existing.customerChannel === undefined) return this.lifecycle.addCustomerChannel(callId, d.customerChannel)
      return existing
    }
    return this.lifecycle.offer({
      callId,
      state: 'offered',
      offeredAt: at ?? this.now().toISOString(),
      source,
      ...(d.customerChannel !== undefined ? { customerChannel: d.customerChannel } : {}),
      ...(d.callerIdNum ? { callerIdNum: d.callerIdNum } : {}),
      ...(d.callerIdName ? { callerIdName: d.callerIdName } : {}),
      ...(d.queue ? { queue: d.queue } : {})
    })
  }

  private answered (callId: string, agentId: string, d: NonNullable<CtiEvent['data']>, source: Call['source'], at?: string): Call {
    const call = this.get(callId)
    if (call === undefined) throw new Error(`unknown call ${callId}`)
    if (source !== 'resync') this.callNews(callId)
    if (call.state !== 'offered' && call.agentId === agentId) {
      // Already known (an AMI event and a CTI event for the same answer). The agent leg
      // is what the BlindTransfer moves, so Asterisk's word on it wins: AMI's DestChannel
      // and a resync's live leg replace what a CTI event said (or a stale leg); a CTI
      // event only fills a gap.
      const leg = d.agentChannel
      if (leg === undefined || leg === call.agentChannel) return call
      if (call.agentChannel !== undefined && source === 'cti') return call
      const old = call.agentChannel
      if (old !== undefined && this.byChannel.get(old) === callId) this.byChannel.delete(old)
      if (old !== undefined) this.log.info({ callId, agentId, was: old, now: leg, source }, 'agent leg replaced')
      return this.lifecycle.replaceAgentLeg(callId, leg)
    }
    if (call.state !== 'offered') return call
    const next = this.lifecycle.connect(callId, agentId, d, source, at)
    this.status.set(agentId, { callId })
    return next
  }

  private transferred (callId: string, context: string, exten: string): void {
    const call = this.get(callId)
    if (call === undefined || call.state === 'transferred' || call.state === 'ended') return
    const landed = this.lifecycle.transferred(callId, context, exten)
    if (call.agentId !== undefined) this.release(call.agentId, callId, 'transferred')
    const early = this.earlyLanding.get(callId)
    this.earlyLanding.delete(callId)
    if (early !== undefined) this.land(landed, early.status, early.cause)
  }

  private hungUp (callId: string, channel: string, cause = 0): void {
    const call = this.get(callId)
    if (call === undefined) return
    if (channel === call.agentChannel && call.agentId !== undefined) {
      this.release(call.agentId, callId, call.state === 'transferred' || call.state === 'transferring' ? 'transferred' : 'agent hung up')
      // A call outside the queue has no customer channel we know of: it ends with the agent's leg.
      if (call.customerChannel === undefined && ACTIVE_STATES.has(call.state)) this.end(callId, 'call outside the queue ended')
    }
    if (channel === call.customerChannel) {
      if (call.state === 'transferred') {
        // Still waiting at the target: hung up waiting, unless the hangup itself says
        // the target failed (a dialplan that ran Busy() or Congestion() on the customer).
        const failed = FAILED_BY_CAUSE.get(cause)
        this.land(call, failed !== undefined ? 'failed' : 'abandoned', failed)
        this.lifecycle.customerLeft(callId)
      } else {
        const agentStill = call.agentId !== undefined && this.status.get(call.agentId)?.callId === callId
        const reason = call.agentId === undefined ? 'caller hung up before an agent answered' : agentStill ? 'caller hung up' : this.releasedBecause.get(callId) ?? 'agent hung up'
        if (agentStill && call.agentId !== undefined) this.release(call.agentId, callId, reason)
        this.end(callId, reason)
      }
    }
  }

  /** A waiting landing reaches its final status (once: a final one stays as it is). */
  private land (call: Call, status: Exclude<LandingStatus, 'waiting'>, cause?: string): void {
    if (call.state !== 'transferred' || call.transfer?.landing?.status !== 'waiting') return
    const next = this.lifecycle.landing(call.callId, status, cause)
    this.lifecycle.saved(call.callId).then(() => { this.emit('landing', next, next.transfer?.landing as Landing) }, () => {})
  }

  private end (callId: string, reason: string, at?: string): Call | undefined {
    const call = this.get(callId)
    if (call === undefined || call.state === 'ended' || call.state === 'transferred') return call
    return this.lifecycle.end(callId, reason, at)
  }

  /** The agent is done with this call: exactly once per agent and call. */
  private release (agentId: string, callId: string, reason: string): void {
    const st = this.status.get(agentId)
    if (st === undefined || st.callId !== callId) return
    this.status.set(agentId, { callId: undefined })
    this.lastCallOf.set(agentId, callId)
    const call = this.get(callId)
    if (call !== undefined && call.agentChannel !== undefined) this.byChannel.delete(call.agentChannel)
    this.releasedBecause.set(callId, reason)
    this.log.info({ callId, agentId, reason }, 'agent released from call')
    if (call === undefined) return
    try {
      this.emit('released', agentId, call, reason)
    } catch (err) {
      // A listener could not record what the release causes (ACW's deadline: the store
      // is full or read-only). Undo the release in memory, so that a retried CTI event,
      // or the resync once the store is back, releases the agent again with its ACW
      // instead of never (found by test/faults/store-unwritable.test.ts).
      this.releasedBecause.delete(callId)
      if (call.agentChannel !== undefined && ACTIVE_STATES.has(call.state)) this.byChannel.set(call.agentChannel, callId)
      this.status.set(agentId, { callId })
      throw err
    }
  }

  /** Once a change is durable, in the order made: listeners hear of it. */
  private announce (call: Call, outcome?: Outcome): void {
    this.emit('call', call)
    if (outcome !== undefined) this.emit('outcome', call, outcome)
  }

  /** A change, at once: the next event sees it. */
  private remember (call: Call): void {
    if (isFinished(call)) {
      // A finished call leaves the live picture; the most recent stay findable, the
      // rest live on in the store only, so memory does not grow with traffic.
      this.forget(call.callId)
      this.recent.delete(call.callId)
      this.recent.set(call.callId, call)
      if (this.recent.size > RECENT_FINISHED) this.recent.delete(this.recent.keys().next().value as string)
      return
    }
    this.recent.delete(call.callId)
    this.calls.set(call.callId, call)
    if (call.customerChannel !== undefined) this.byChannel.set(call.customerChannel, call.callId)
    if (call.agentChannel !== undefined && ACTIVE_STATES.has(call.state)) this.byChannel.set(call.agentChannel, call.callId)
    if (call.agentId !== undefined && ACTIVE_STATES.has(call.state) && this.status.get(call.agentId)?.callId === undefined) {
      this.status.set(call.agentId, { callId: call.callId }) // announced: the agent is now on this call
    }
  }

  private forget (callId: string): void {
    const call = this.calls.get(callId)
    if (call === undefined) return
    this.calls.delete(callId)
    this.lastCallNews.delete(callId)
    this.releasedBecause.delete(callId)
    this.earlyLanding.delete(callId)
    if (call.customerChannel !== undefined && this.byChannel.get(call.customerChannel) === callId) this.byChannel.delete(call.customerChannel)
    if (call.agentChannel !== undefined && this.byChannel.get(call.agentChannel) === callId) this.byChannel.delete(call.agentChannel)
  }
}
