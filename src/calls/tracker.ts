// Who is talking to whom: calls and agents, fed by normalized AMI events, by CTI
// events from the dialplan or a middleware, and by a resync from live channels after
// every (re)connect. Every change is saved before it is announced; outcomes (a
// transfer landed, an educated call ended) run their hooks in the same transaction,
// so what they cause (an APKT record) commits with the state change or not at all.
import { EventEmitter } from 'node:events'
import type { AmiEvent } from '../ami/events.ts'
import type { Log } from '../log.ts'
import { channelMatcher } from './interfaces.ts'
import type { CallRepository } from './repository.ts'
import { ACTIVE_STATES, isFinished, type AgentPresence, type Call, type ChannelSnapshot, type MemberSnapshot } from './types.ts'

export interface TrackedAgent { id: string, interface: string, queues: string[] }

export type Outcome = 'transferred' | 'ended'

/** Runs inside the transaction that records the outcome; may add to the call (call.apkt). */
export type OutcomeHook = (call: Call, outcome: Outcome) => void

export interface CtiEvent {
  type: 'call.offered' | 'call.answered' | 'call.ended' | 'agent.login' | 'agent.logout'
  callId?: string
  agentId?: string
  at?: string
  data?: { callerIdNum?: string, callerIdName?: string, customerChannel?: string, agentChannel?: string, queue?: string, reason?: string }
}

export type { ChannelSnapshot, MemberSnapshot } from './types.ts'

export interface AgentStatus {
  presence: AgentPresence
  paused: boolean
  pausedReason: string
  callId?: string
}

interface TrackerEvents {
  call: [Call]
  agent: [string]
  /** the agent's part in a call is over (hangup on either side, or transferred) */
  released: [agentId: string, call: Call, reason: string]
  /** a BlindTransfer event concerning a tracked call */
  transfer: [callId: string, success: boolean, result: string]
  /** a QueueMemberPause for a configured agent */
  memberPause: [agentId: string, paused: boolean, reason: string]
  /** an outcome was recorded (after its transaction committed, unlike onOutcome hooks) */
  outcome: [call: Call, outcome: Outcome]
  /** a transferring call was found still with its agent: connected again (ACW's hold is to go) */
  notTransferred: [call: Call]
}

/** Where a Direct Transfer entry places the customer, to recognise the customer there. */
export interface TransferTarget { context: string, exten: string }

// Asterisk queue member Status values that mean the device cannot take calls.
const UNAVAILABLE = new Set([4, 5]) // AST_DEVICE_INVALID, AST_DEVICE_UNAVAILABLE

/**
 * A deep copy of plain JSON-like data (objects, arrays, primitives), as structuredClone
 * would make it for a Call (which holds nothing else: it is stored as JSON), at a
 * sixth of its cost; update() copies a call on every state change.
 */
function cloneData<T> (v: T): T {
  if (typeof v !== 'object' || v === null) return v
  if (Array.isArray(v)) return v.map(cloneData) as T
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(v)) {
    const x = cloneData((v as Record<string, unknown>)[k])
    if (k === '__proto__') Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true })
    else out[k] = x
  }
  return out as T
}

const NOT_MADE = 'not made: the customer is still with the agent; press again'

/**
 * Where a transferring call's customer is, from live channels: placed at the target
 * (seen in its context/exten, or no longer with an agent leg that is gone), still
 * bridged with the agent, or gone; undefined when the channels do not tell yet.
 */
function transferVerdict (call: Call, channels: readonly ChannelSnapshot[], target?: TransferTarget): 'transferred' | 'connected' | 'ended' | undefined {
  const find = (name: string | undefined): ChannelSnapshot | undefined => name === undefined ? undefined : channels.find(c => c.channel === name)
  const customer = find(call.customerChannel)
  if (customer === undefined) return call.customerChannel === undefined ? undefined : 'ended'
  const agent = find(call.agentChannel)
  if (agent !== undefined && customer.bridgeId !== '' && customer.bridgeId === agent.bridgeId) return 'connected'
  if (target !== undefined && customer.context === target.context && customer.exten === target.exten) return 'transferred'
  if (agent === undefined) return 'transferred'
  return undefined
}

/** Same status, every field of AgentStatus compared (an absent callId equals an undefined one, as in JSON). */
const sameStatus = (a: AgentStatus, b: AgentStatus): boolean =>
  a.presence === b.presence && a.paused === b.paused && a.pausedReason === b.pausedReason && a.callId === b.callId

export class CallTracker extends EventEmitter<TrackerEvents> {
  private readonly calls = new Map<string, Call>()
  private readonly byChannel = new Map<string, string>()
  private readonly agentByInterface = new Map<string, string>()
  private readonly agentOfChannel: (channel: string) => string | undefined
  private readonly status = new Map<string, AgentStatus>()
  private readonly hooks: OutcomeHook[] = []
  /** why the agent left a call that is still up, to name why the call ended */
  private readonly releasedBecause = new Map<string, string>()
  /** transfers Asterisk confirmed while the store could not record them */
  private readonly unrecorded = new Map<string, { context: string, exten: string }>()

  constructor (
    private readonly agents: readonly TrackedAgent[],
    private readonly repo: CallRepository,
    private readonly log: Log,
    private readonly now: () => Date = () => new Date()
  ) {
    super()
    this.agentOfChannel = channelMatcher(agents)
    for (const a of agents) {
      this.agentByInterface.set(a.interface.toLowerCase(), a.id)
      this.status.set(a.id, { presence: 'offline', paused: false, pausedReason: '' })
    }
  }

  /** Calls that were live when the service stopped; resync() settles what became of them. */
  load (): number {
    const open = this.repo.loadUnfinished()
    for (const c of open) this.remember(c)
    return open.length
  }

  onOutcome (hook: OutcomeHook): void { this.hooks.push(hook) }

  /** Records the transfers confirmed while the store was unwritable; throws if it still is. */
  recordUnrecorded (): number {
    let n = 0
    for (const [callId, to] of [...this.unrecorded]) {
      this.transferred(callId, to.context, to.exten)
      this.unrecorded.delete(callId)
      n++
    }
    return n
  }

  get (callId: string): Call | undefined { return this.calls.get(callId) ?? this.repo.get(callId) }

  agentStatus (agentId: string): AgentStatus | undefined { return this.status.get(agentId) }

  currentCallOf (agentId: string): Call | undefined {
    const id = this.status.get(agentId)?.callId
    return id === undefined ? undefined : this.calls.get(id)
  }

  liveCalls (): Call[] { return [...this.calls.values()].filter(c => ACTIVE_STATES.has(c.state)) }

  agentIds (): string[] { return this.agents.map(a => a.id) }

  /** Whether `channel` is a leg of `agentId`'s device (the matching the AMI events use). */
  isAgentLeg (agentId: string, channel: string): boolean { return this.agentOfChannel(channel) === agentId }

  /**
   * A transferring call whose customer is still with the agent: the transfer was not
   * made, the call is connected again and may be transferred by a new press.
   */
  backToAgent (callId: string, message: string): Call | undefined {
    const call = this.get(callId)
    if (call?.state !== 'transferring') return call
    const next = this.update(callId, c => {
      c.state = 'connected'
      c.transfer = { status: 'failed', target: c.transfer?.target ?? 0, at: c.transfer?.at ?? this.now().toISOString(), message }
    })
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

  /**
   * Changes a call and saves it; with an outcome, its hooks run in the same transaction.
   * `alsoRecord` adds the caller's own writes to that transaction (the transfer button:
   * ACW's hold commits with "transferring"), one durable commit instead of two.
   * Returns the saved call.
   */
  update (callId: string, change: (c: Call) => void, outcome?: Outcome, alsoRecord?: () => void): Call {
    const call = this.get(callId)
    if (call === undefined) throw new Error(`unknown call ${callId}`)
    const next: Call = cloneData(call)
    change(next)
    this.repo.transaction(() => {
      if (outcome !== undefined) for (const hook of this.hooks) hook(next, outcome)
      alsoRecord?.()
      this.repo.save(next)
    })
    // A finished call lives on in the store only, so memory does not grow with traffic.
    if (isFinished(next)) this.forget(callId)
    else this.remember(next)
    this.emit('call', next)
    if (outcome !== undefined) this.emit('outcome', next, outcome)
    return next
  }

  onAmi (ev: AmiEvent): void {
    if (!ev.known) return
    switch (ev.event) {
      case 'AgentCalled':
        this.offered(ev.linkedid, { customerChannel: ev.channel, callerIdNum: ev.callerIdNum, callerIdName: ev.callerIdName, queue: ev.queue }, 'ami')
        return
      case 'AgentConnect': {
        const agentId = this.agentByInterface.get(ev.interface.toLowerCase())
        if (agentId === undefined) { this.log.warn({ interface: ev.interface, callId: ev.linkedid }, 'call answered by a member that is not a configured agent'); return }
        this.offered(ev.linkedid, { customerChannel: ev.channel, callerIdNum: ev.callerIdNum, callerIdName: ev.callerIdName, queue: ev.queue }, 'ami')
        this.answered(ev.linkedid, agentId, { customerChannel: ev.channel, agentChannel: ev.destChannel }, 'ami')
        return
      }
      case 'AgentComplete': {
        const agentId = this.agentByInterface.get(ev.interface.toLowerCase())
        const callId = ev.linkedid
        const reason = ev.reason === 'transfer' ? 'transferred' : ev.reason === 'agent' ? 'agent hung up' : ev.reason === 'caller' ? 'caller hung up' : `call ended (${ev.reason || 'unknown'})`
        if (agentId !== undefined) this.release(agentId, callId, reason)
        // app_queue knows who hung up; Hangup events of the two legs may come in either order.
        const call = this.get(callId)
        if (call?.state === 'ended' && ev.reason !== 'transfer' && call.endReason !== reason) this.update(callId, c => { c.endReason = reason })
        return
      }
      case 'BlindTransfer': {
        const callId = this.byChannel.get(ev.transfererChannel) ?? this.byChannel.get(ev.transfereeChannel)
        if (callId === undefined) return
        this.emit('transfer', callId, ev.success, ev.result)
        if (!ev.success) return
        try {
          this.transferred(callId, ev.context, ev.extension)
        } catch (err) {
          // Asterisk has moved the customer but the store could not take it: keep the
          // fact, recordUnrecorded() writes it (and its APKT record) once the store is back.
          this.unrecorded.set(callId, { context: ev.context, exten: ev.extension })
          throw err
        }
        return
      }
      case 'Hangup': {
        const callId = this.byChannel.get(ev.channel)
        if (callId === undefined) return
        this.hungUp(callId, ev.channel)
        return
      }
      case 'QueueMemberStatus':
      case 'QueueMemberAdded':
      case 'QueueMemberPause': {
        const agentId = this.agentByInterface.get(ev.interface.toLowerCase())
        if (agentId === undefined) return
        this.setStatus(agentId, { presence: UNAVAILABLE.has(ev.status) ? 'offline' : 'online', paused: ev.paused, pausedReason: ev.pausedReason })
        if (ev.event === 'QueueMemberPause') this.emit('memberPause', agentId, ev.paused, ev.pausedReason)
        return
      }
      case 'BridgeEnter': {
        // A call that reached the agent's device outside the queue (a direct dial):
        // no AgentConnect, but the agent is busy and gets ACW when it ends.
        if (this.byChannel.has(ev.channel) || this.calls.has(ev.linkedid)) return
        const agentId = this.agentOfChannel(ev.channel)
        if (agentId === undefined || this.status.get(agentId)?.callId !== undefined) return
        this.offered(ev.linkedid, { ...(ev.callerIdNum ? { callerIdNum: ev.callerIdNum } : {}) }, 'ami')
        this.answered(ev.linkedid, agentId, { agentChannel: ev.channel }, 'ami')
        return
      }
      case 'QueueMemberRemoved': {
        const agentId = this.agentByInterface.get(ev.interface.toLowerCase())
        if (agentId !== undefined) this.setStatus(agentId, { presence: 'offline' })
        return
      }
      default:
    }
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
        this.setStatus(ev.agentId as string, { presence: 'online' })
        return undefined
      case 'agent.logout':
        this.setStatus(ev.agentId as string, { presence: 'offline' })
        return undefined
    }
  }

  /**
   * Rebuilds the picture from live channels and queue members after a (re)connect:
   * bridged agent legs are connected calls; callers waiting in Queue are offered
   * calls; calls we knew of whose customer is gone ended while we could not see.
   */
  resync (channels: readonly ChannelSnapshot[], members: readonly MemberSnapshot[], targetOf?: (index: number) => TransferTarget | undefined): { connected: number, offered: number, ended: number } {
    for (const m of members) {
      const agentId = this.agentByInterface.get(m.interface.toLowerCase())
      if (agentId !== undefined) this.setStatus(agentId, { presence: UNAVAILABLE.has(m.status) ? 'offline' : 'online', paused: m.paused, pausedReason: m.pausedReason })
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
      if (!customerHere) {
        if (call.state === 'transferred') this.update(call.callId, c => { c.endedAt ??= this.now().toISOString() })
        else { this.end(call.callId, 'call ended while the service could not see it'); ended++ }
      }
    }
    return { connected, offered, ended }
  }

  private offered (callId: string, d: NonNullable<CtiEvent['data']>, source: Call['source'], at?: string): Call {
    const existing = this.get(callId)
    if (existing !== undefined) {
      if (d.customerChannel !== undefined && existing.customerChannel === undefined) {
        return this.update(callId, c => { c.customerChannel = d.customerChannel })
      }
      return existing
    }
    const call: Call = {
      callId,
      state: 'offered',
      offeredAt: at ?? this.now().toISOString(),
      source,
      ...(d.customerChannel !== undefined ? { customerChannel: d.customerChannel } : {}),
      ...(d.callerIdNum ? { callerIdNum: d.callerIdNum } : {}),
      ...(d.callerIdName ? { callerIdName: d.callerIdName } : {}),
      ...(d.queue ? { queue: d.queue } : {})
    }
    this.repo.save(call)
    this.remember(call)
    this.log.info({ callId, source, callerIdNum: call.callerIdNum }, 'call offered')
    this.emit('call', call)
    return call
  }

  private answered (callId: string, agentId: string, d: NonNullable<CtiEvent['data']>, source: Call['source'], at?: string): Call {
    const call = this.get(callId)
    if (call === undefined) throw new Error(`unknown call ${callId}`)
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
      return this.update(callId, c => { c.agentChannel = leg })
    }
    if (call.state !== 'offered') return call
    const next = this.update(callId, c => {
      c.state = 'connected'
      c.agentId = agentId
      c.connectedAt = at ?? this.now().toISOString()
      c.source = source
      if (d.customerChannel !== undefined) c.customerChannel = d.customerChannel
      if (d.agentChannel !== undefined) c.agentChannel = d.agentChannel
    })
    this.setStatus(agentId, { callId })
    this.log.info({ callId, agentId, agentChannel: next.agentChannel, source }, 'call connected to agent')
    return next
  }

  private transferred (callId: string, context: string, exten: string): void {
    const call = this.get(callId)
    if (call === undefined || call.state === 'transferred' || call.state === 'ended') return
    const at = this.now().toISOString()
    this.update(callId, c => {
      c.state = 'transferred'
      c.transfer = { status: 'completed', target: c.transfer?.target ?? 0, at }
      c.endReason = `transferred to ${exten}@${context}`
    }, 'transferred')
    this.log.info({ callId, agentId: call.agentId, to: `${exten}@${context}` }, 'call transferred')
    if (call.agentId !== undefined) this.release(call.agentId, callId, 'transferred')
  }

  private hungUp (callId: string, channel: string): void {
    const call = this.get(callId)
    if (call === undefined) return
    if (channel === call.agentChannel && call.agentId !== undefined) {
      this.release(call.agentId, callId, call.state === 'transferred' || call.state === 'transferring' ? 'transferred' : 'agent hung up')
      // A call outside the queue has no customer channel we know of: it ends with the agent's leg.
      if (call.customerChannel === undefined && ACTIVE_STATES.has(call.state)) this.end(callId, 'call outside the queue ended')
    }
    if (channel === call.customerChannel) {
      if (call.state === 'transferred') {
        this.update(callId, c => { c.endedAt = this.now().toISOString() })
      } else {
        const agentStill = call.agentId !== undefined && this.status.get(call.agentId)?.callId === callId
        const reason = call.agentId === undefined ? 'caller hung up before an agent answered' : agentStill ? 'caller hung up' : this.releasedBecause.get(callId) ?? 'agent hung up'
        if (agentStill && call.agentId !== undefined) this.release(call.agentId, callId, reason)
        this.end(callId, reason)
      }
    }
  }

  private end (callId: string, reason: string, at?: string): Call | undefined {
    const call = this.get(callId)
    if (call === undefined || call.state === 'ended') return call
    if (call.state === 'transferred') return call
    const next = this.update(callId, c => {
      c.state = 'ended'
      c.endedAt = at ?? this.now().toISOString()
      c.endReason ??= reason
    }, 'ended')
    this.log.info({ callId, agentId: call.agentId, reason }, 'call ended')
    return next
  }

  /** The agent is done with this call: exactly once per agent and call. */
  private release (agentId: string, callId: string, reason: string): void {
    const st = this.status.get(agentId)
    if (st === undefined || st.callId !== callId) return
    this.setStatus(agentId, { callId: undefined })
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
      this.setStatus(agentId, { callId })
      throw err
    }
  }

  private setStatus (agentId: string, patch: Partial<AgentStatus>): void {
    const st = this.status.get(agentId)
    if (st === undefined) return
    const next = { ...st, ...patch }
    if ('callId' in patch && patch.callId === undefined) delete next.callId
    if (sameStatus(next, st)) return
    this.status.set(agentId, next)
    this.emit('agent', agentId)
  }

  private remember (call: Call): void {
    this.calls.set(call.callId, call)
    if (call.customerChannel !== undefined) this.byChannel.set(call.customerChannel, call.callId)
    if (call.agentChannel !== undefined && ACTIVE_STATES.has(call.state)) this.byChannel.set(call.agentChannel, call.callId)
    if (call.agentId !== undefined && ACTIVE_STATES.has(call.state) && this.status.get(call.agentId)?.callId === undefined) {
      this.setStatus(call.agentId, { callId: call.callId }) // announced: the agent is now on this call
    }
  }

  private forget (callId: string): void {
    const call = this.calls.get(callId)
    if (call === undefined) return
    this.calls.delete(callId)
    this.releasedBecause.delete(callId)
    if (call.customerChannel !== undefined && this.byChannel.get(call.customerChannel) === callId) this.byChannel.delete(call.customerChannel)
    if (call.agentChannel !== undefined && this.byChannel.get(call.agentChannel) === callId) this.byChannel.delete(call.agentChannel)
  }
}
