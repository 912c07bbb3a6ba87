// The report facts (src/reports/fact.ts), made from what the service already hears, at
// the moment it hears it, and handed to a sink (the wiring: the journal) in the same
// turn: so they join the transaction of the change that caused them (a call's change
// calls onCallChange inside its own transaction; an AMI event's facts go into the group
// commit of the events read with it), and cost no commit of their own.
//
//   joined     QueueCallerJoin (or, without one, a call offered from a queue)
//   answered   AgentConnect: its HoldTime is the wait (a call answered through a CTI
//              event: from the join, else the offer, to the answer)
//   abandoned  QueueCallerAbandon: its HoldTime
//   talk       the call's outcome: from the answer to its end or its transfer
//   topic      the call's outcome: the inquiry's topic then (the last one chosen)
//   transfer   completed (transferred) or failed (the press failed), each press
//   landing    the transferred customer's final landing at the target
//   wrapup     the call's wrap-up once final
//   acw        ACW's end: its length, from its start
//   pause      an unpause (QueueMemberPause): the pause's length, by its reason;
//              ACW's own pauses are ACW time, not counted here
//
// A call's facts count at the time the caller joined the queue (remembered for a while
// per call; once forgotten, or never seen, the offer's time stands in). Each fact's id
// names what it is about, so one seen twice (a reconnect, a CTI event and an AMI event
// for the same answer) is stored and counted once.
import type { AcwEntry } from '../acw/types.ts'
import type { AmiEvent } from '../ami/events.ts'
import type { Call } from '../calls/types.ts'
import type { ReportFact } from './fact.ts'

export interface FactsOptions {
  /** Where the facts go: called in the turn that made them. */
  sink: (fact: ReportFact) => void
  /** The agent of a call the tracker knows (AgentConnect names a member interface). */
  agentOf: (callId: string) => string | undefined
  /** The QueuePause reasons ACW pauses with (acw.pauseReason): not pauses of the agent's. */
  acwPauseReasons: () => readonly string[]
  now?: () => Date
  /** Calls whose join time is remembered (oldest forgotten first). */
  remember?: number
}

const NO_REASON = 'NONE'
const ms = (iso: string | undefined): number | undefined => iso === undefined ? undefined : Date.parse(iso)
const seconds = (fromMs: number, toMs: number): number => Math.max(0, Math.round((toMs - fromMs) / 100) / 10)
const iso = (t: number): string => new Date(t).toISOString()

export class ReportFacts {
  /** callId → when the caller joined the queue (ms). */
  private readonly joinedAt = new Map<string, number>()
  /** agentId → the pause running (its reason and start, ms). */
  private readonly pauses = new Map<string, { reason: string, since: number }>()
  private readonly now: () => Date
  private readonly max: number

  constructor (private readonly o: FactsOptions) {
    this.now = o.now ?? (() => new Date())
    this.max = o.remember ?? 20_000
  }

  onAmi (ev: AmiEvent): void {
    if (!ev.known) return
    switch (ev.event) {
      case 'QueueCallerJoin': {
        const at = this.now().getTime()
        this.remember(ev.linkedid, at)
        this.emit({ id: `joined:${ev.linkedid}`, kind: 'joined', at: iso(at), countsAt: iso(at), callId: ev.linkedid, key: ev.queue })
        return
      }
      case 'QueueCallerAbandon': {
        const at = this.now().getTime()
        const joined = this.joinedAt.get(ev.linkedid) ?? at - ev.holdTime * 1000
        this.joinedAt.delete(ev.linkedid)
        this.emit({ id: `abandoned:${ev.linkedid}`, kind: 'abandoned', at: iso(at), countsAt: iso(joined), callId: ev.linkedid, key: ev.queue, seconds: ev.holdTime })
        return
      }
      case 'AgentConnect': {
        const at = this.now().getTime()
        const joined = this.joinedAt.get(ev.linkedid) ?? at - ev.holdTime * 1000
        this.remember(ev.linkedid, joined)
        const agentId = this.o.agentOf(ev.linkedid)
        this.emit({ id: `answered:${ev.linkedid}`, kind: 'answered', at: iso(at), countsAt: iso(joined), callId: ev.linkedid, ...(agentId !== undefined ? { agentId } : {}), key: ev.queue, seconds: ev.holdTime })
      }
    }
  }

  /** Inside the transaction of the call's change (src/calls/lifecycle.ts CallObserver). */
  onCallChange (prev: Call | undefined, next: Call): void {
    const id = next.callId
    const at = this.now().toISOString()
    const countsAt = (): string => iso(this.joinedAt.get(id) ?? Date.parse(next.offeredAt))
    const agent = next.agentId !== undefined ? { agentId: next.agentId } : {}
    if (prev === undefined && next.queue !== undefined && next.source !== 'resync' && !this.joinedAt.has(id)) {
      // Offered from a queue without a QueueCallerJoin heard (a CTI offer, a join before a
      // reconnect): joined at the offer. Had it been stored already, its id says so.
      this.remember(id, Date.parse(next.offeredAt))
      this.emit({ id: `joined:${id}`, kind: 'joined', at, countsAt: countsAt(), callId: id, key: next.queue })
    }
    if (prev?.state === 'offered' && next.state === 'connected' && next.source === 'cti' && next.queue !== undefined) {
      // A CTI answer (no AgentConnect): the wait from the join, else the offer.
      const from = this.joinedAt.get(id) ?? Date.parse(next.offeredAt)
      const to = ms(next.connectedAt) ?? Date.parse(at)
      this.emit({ id: `answered:${id}`, kind: 'answered', at, countsAt: iso(from), callId: id, ...agent, key: next.queue, seconds: seconds(from, to) })
    }
    const live = prev !== undefined && (prev.state === 'offered' || prev.state === 'connected' || prev.state === 'transferring')
    if (live && (next.state === 'ended' || next.state === 'transferred')) {
      const c = countsAt()
      if (next.inquiry !== undefined) this.emit({ id: `topic:${id}`, kind: 'topic', at, countsAt: c, callId: id, ...agent, key: next.inquiry.topic })
      const talkFrom = ms(next.connectedAt)
      const talkTo = next.state === 'transferred' ? ms(next.transfer?.at) : ms(next.endedAt)
      if (talkFrom !== undefined && next.agentId !== undefined) {
        this.emit({ id: `talk:${id}`, kind: 'talk', at, countsAt: c, callId: id, ...agent, seconds: seconds(talkFrom, talkTo ?? Date.parse(at)) })
      }
    }
    const t = next.transfer
    if (t !== undefined && (t.status === 'completed' || t.status === 'failed') && (prev?.transfer?.status !== t.status || prev.transfer.at !== t.at)) {
      this.emit({ id: `transfer:${id}:${t.status}:${t.at}`, kind: 'transfer', at, countsAt: countsAt(), callId: id, ...agent, key: t.status })
    }
    const l = t?.landing
    if (l !== undefined && l.status !== 'waiting' && prev?.transfer?.landing?.status === 'waiting') {
      this.emit({ id: `landing:${id}`, kind: 'landing', at, countsAt: countsAt(), callId: id, ...agent, key: l.status, seconds: l.waitSeconds })
    }
    if (next.wrapup?.final === true && prev?.wrapup?.final !== true) {
      this.emit({ id: `wrapup:${id}`, kind: 'wrapup', at, countsAt: countsAt(), callId: id, ...agent, key: next.wrapup.code })
      this.joinedAt.delete(id) // the call's last fact
    }
  }

  /** ACW is over (AcwService 'ended', in the turn its end is written). */
  onAcwEnded (e: AcwEntry): void {
    const now = this.now().getTime()
    this.emit({ id: `acw:${e.agentId}:${e.startedAt}`, kind: 'acw', at: iso(now), countsAt: e.startedAt, agentId: e.agentId, ...(e.callId !== undefined ? { callId: e.callId } : {}), seconds: seconds(Date.parse(e.startedAt), now) })
  }

  /**
   * A QueueMemberPause of an agent (the tracker's 'memberPause'; one per queue of the
   * member, so repeats change nothing): a pause starts, ends, or changes its reason.
   */
  onMemberPause (agentId: string, paused: boolean, reason: string): void {
    const now = this.now().getTime()
    const running = this.pauses.get(agentId)
    const why = reason === '' ? NO_REASON : reason
    if (paused && running?.reason === why) return
    if (running !== undefined) {
      this.pauses.delete(agentId)
      if (!this.o.acwPauseReasons().includes(running.reason)) {
        this.emit({ id: `pause:${agentId}:${iso(running.since)}`, kind: 'pause', at: iso(now), countsAt: iso(running.since), agentId, key: running.reason, seconds: seconds(running.since, now) })
      }
    }
    if (paused) this.pauses.set(agentId, { reason: why, since: now })
  }

  private remember (callId: string, at: number): void {
    this.joinedAt.delete(callId)
    this.joinedAt.set(callId, at)
    if (this.joinedAt.size > this.max) this.joinedAt.delete(this.joinedAt.keys().next().value as string)
  }

  private emit (fact: ReportFact): void { this.o.sink(fact) }
}
