// A call's lifecycle, owned here and nowhere else:
//
//   (new) → offered → connected → transferring → transferred
//                         ↑            │  ↘ (unknown outcome: stays transferring)
//                         └────────────┘ back to the agent (not made)
//   offered | connected | transferring → ended;  offered | connected → transferred
//                                              (a transfer Asterisk reports unasked)
//
// A transferred call's landing at the target (transfer.landing) has a life of its own:
//   waiting (set by `transferred`) → answered | abandoned | failed   (final, never changes)
//
// Every transition is a named method that checks the from-state (a wrong one is
// refused with ILLEGAL_TRANSITION, nothing saved), hands the call to the store (an
// outcome's effects in the same transaction) and to memory at once (the next event sees
// it), logs `from → to` once with the callId and agentId, and announces the call once
// its transaction is durable (saved(callId) tells when). Changes that are not state changes (a leg, an
// inquiry, a consent) are named methods too; nothing outside this module mutates a call.
import type { Log } from '../log.ts'
import type { Outcome, OutcomeEffect } from './outcome-effects.ts'
import type { CallRepository } from './repository.ts'
import type { Call, CallState, Consent, Inquiry, Landing, LandingStatus, TransferInfo, Wrapup } from './types.ts'

/** A transition asked of a call in a state it does not leave that way (a bug in the caller). */
export class IllegalTransition extends Error {
  override readonly name = 'IllegalTransition'
  readonly code = 'ILLEGAL_TRANSITION'
}

export interface LifecycleOptions {
  repo: CallRepository
  log: Log
  /** The call as it is now (memory, else the store). */
  find: (callId: string) => Call | undefined
  /** Puts the changed call in the tracker's memory, at once (before it is durable). */
  remember: (call: Call) => void
  /** Tells the tracker's listeners about a change, once it is durable (in the order made). */
  announce: (call: Call, outcome?: Outcome) => void
  now: () => Date
}

/**
 * A deep copy of plain JSON-like data (objects, arrays, primitives), as structuredClone
 * would make it for a Call (which holds nothing else: it is stored as JSON), at a
 * sixth of its cost; every change copies the call.
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

const LIVE: readonly CallState[] = ['offered', 'connected', 'transferring']

/**
 * Sees every change of a call (the call before it, undefined for a new one, and after),
 * inside the transaction that saves it: what it writes commits with the change (the
 * report facts, src/reports/facts.ts). Must not throw for a change it does not follow.
 */
export type CallObserver = (prev: Call | undefined, next: Call) => void

export class CallLifecycle {
  private effects: readonly OutcomeEffect[] = []
  private observers: readonly CallObserver[] = []
  /** Each call's latest change not yet durable. */
  private readonly unsaved = new Map<string, Promise<void>>()

  constructor (private readonly options: LifecycleOptions) {}

  /** What an outcome causes inside its transaction, in order (see outcome-effects.ts). */
  setOutcomeEffects (effects: readonly OutcomeEffect[]): void { this.effects = [...effects] }

  /** Who sees every change inside its transaction (see CallObserver). */
  setObservers (observers: readonly CallObserver[]): void { this.observers = [...observers] }

  // --- transitions -------------------------------------------------------------------

  /** (new) → offered. */
  offer (call: Call): Call {
    if (this.options.find(call.callId) !== undefined) throw new IllegalTransition(`call ${call.callId} is already known: it cannot be offered again`)
    if (call.state !== 'offered') throw new IllegalTransition(`a new call ${call.callId} starts offered, not ${call.state}`)
    this.save(call)
    this.options.log.info({ callId: call.callId, transition: '(new) → offered', source: call.source, callerIdNum: call.callerIdNum }, 'call offered')
    return call
  }

  /** offered → connected: an agent answered. */
  connect (callId: string, agentId: string, legs: { customerChannel?: string, agentChannel?: string }, source: Call['source'], at?: string): Call {
    return this.transition(callId, ['offered'], 'connected', c => {
      c.agentId = agentId
      c.connectedAt = at ?? this.options.now().toISOString()
      c.source = source
      if (legs.customerChannel !== undefined) c.customerChannel = legs.customerChannel
      if (legs.agentChannel !== undefined) c.agentChannel = legs.agentChannel
    }, 'call connected to agent', c => ({ agentChannel: c.agentChannel, source }))
  }

  /**
   * connected → transferring: the button was pressed. `alsoRecord` adds the caller's
   * writes to the same transaction (ACW's hold commits with "transferring").
   */
  startTransfer (callId: string, target: number, at: string, alsoRecord?: () => void): Call {
    return this.transition(callId, ['connected'], 'transferring', c => {
      c.transfer = { status: 'pending', target, at }
    }, 'direct transfer requested', c => ({ target, agentChannel: c.agentChannel }), undefined, alsoRecord)
  }

  /** transferring → connected: the transfer was not made; the customer is still with the agent. */
  backToAgent (callId: string, transfer: TransferInfo): Call {
    return this.transition(callId, ['transferring'], 'connected', c => {
      c.transfer = transfer
    }, 'transfer not made: call back with its agent', () => ({ message: transfer.message }))
  }

  /**
   * offered | connected | transferring → transferred: Asterisk moved the customer. An
   * outcome. The customer is now waiting at the target (the landing starts).
   */
  transferred (callId: string, context: string, exten: string): Call {
    const at = this.options.now().toISOString()
    return this.transition(callId, LIVE, 'transferred', c => {
      c.transfer = { status: 'completed', target: c.transfer?.target ?? 0, at, landing: { status: 'waiting', at, waitSeconds: 0 } }
      c.endReason = `transferred to ${exten}@${context}`
    }, 'call transferred', () => ({ to: `${exten}@${context}` }), 'transferred')
  }

  /** offered | connected | transferring → ended. An outcome. */
  end (callId: string, reason: string, at?: string): Call {
    return this.transition(callId, LIVE, 'ended', c => {
      c.endedAt = at ?? this.options.now().toISOString()
      c.endReason ??= reason
    }, 'call ended', () => ({ reason }), 'ended')
  }

  // --- changes that are not state changes ----------------------------------------------

  /** A customer channel learnt after the call was offered without one. */
  addCustomerChannel (callId: string, channel: string): Call {
    return this.change(callId, c => { c.customerChannel = channel })
  }

  /** The agent's leg (what a BlindTransfer moves), as Asterisk last reported it. */
  replaceAgentLeg (callId: string, channel: string): Call {
    return this.change(callId, c => { c.agentChannel = channel })
  }

  /** A pending transfer whose outcome Asterisk did not tell: the call stays transferring. */
  transferOutcomeUnknown (callId: string, pending: TransferInfo): Call {
    return this.change(callId, c => { c.transfer = pending }, ['transferring'])
  }

  /** app_queue's word on who hung up an ended call (the two legs' Hangups come in any order). */
  correctEndReason (callId: string, reason: string): Call {
    return this.change(callId, c => { c.endReason = reason }, ['ended'])
  }

  /** The customer's leg of a transferred call is gone: the call is over for good. */
  customerLeft (callId: string): Call {
    return this.change(callId, c => { c.endedAt ??= this.options.now().toISOString() }, ['transferred'])
  }

  /**
   * The customer's landing at the target: waiting → answered | abandoned | failed, on a
   * transferred call only. A landing that is already final is refused (ILLEGAL_TRANSITION):
   * the first word on where the customer landed stands.
   */
  landing (callId: string, status: Exclude<LandingStatus, 'waiting'>, cause?: string, at?: string): Call {
    const call = this.current(callId, ['transferred'], `landing → ${status}`)
    const was = call.transfer?.landing
    if (was === undefined || was.status !== 'waiting') {
      throw new IllegalTransition(`call ${callId}'s landing is ${was?.status ?? 'unknown'}: only a waiting landing becomes ${status}`)
    }
    const when = at ?? this.options.now().toISOString()
    const waited = Math.max(0, Date.parse(when) - Date.parse(was.at))
    const landing: Landing = { status, at: when, waitSeconds: Math.round(waited / 100) / 10, ...(cause !== undefined ? { cause } : {}) }
    const next = this.change(callId, c => { (c.transfer as TransferInfo).landing = landing }, ['transferred'])
    this.options.log.info({ callId, agentId: next.agentId, landing: `waiting → ${status}`, waitSeconds: landing.waitSeconds, cause }, 'transfer landed')
    return next
  }

  /** The agent classified the inquiry; the last one wins and a new topic needs its own consent. */
  recordInquiry (callId: string, inquiry: Inquiry): Call {
    return this.change(callId, c => { c.inquiry = inquiry; delete c.consent })
  }

  recordConsent (callId: string, consent: Consent): Call {
    return this.change(callId, c => { c.consent = consent })
  }

  /**
   * The call's wrap-up (src/wrapup/ decides when it may change): a choice replaces the
   * last one; a final one is never replaced (refused with ILLEGAL_TRANSITION).
   */
  recordWrapup (callId: string, wrapup: Wrapup): Call {
    const was = this.current(callId, undefined, 'wrap-up').wrapup
    if (was?.final === true) throw new IllegalTransition(`call ${callId}'s wrap-up is final (${was.code}): it does not change`)
    const next = this.change(callId, c => { c.wrapup = wrapup })
    this.options.log.info({ callId, agentId: next.agentId, wrapup: wrapup.code, source: wrapup.source, final: wrapup.final === true }, wrapup.final === true ? 'wrap-up final' : 'wrap-up chosen')
    return next
  }

  // --- the one way a call is saved ------------------------------------------------------

  private current (callId: string, allowed: readonly CallState[] | undefined, what: string): Call {
    const call = this.options.find(callId)
    if (call === undefined) throw new IllegalTransition(`unknown call ${callId}`)
    if (allowed !== undefined && !allowed.includes(call.state)) {
      throw new IllegalTransition(`call ${callId} is ${call.state}: ${what} is allowed only from ${allowed.join(' | ')}`)
    }
    return call
  }

  private transition (
    callId: string, from: readonly CallState[], to: CallState, apply: (c: Call) => void,
    message: string, details: (c: Call) => object, outcome?: Outcome, alsoRecord?: () => void
  ): Call {
    const call = this.current(callId, from, `→ ${to}`)
    const next = cloneData(call)
    next.state = to
    apply(next)
    this.save(next, outcome, alsoRecord)
    this.options.log.info({ callId, agentId: next.agentId, transition: `${call.state} → ${to}`, ...details(next) }, message)
    return next
  }

  private change (callId: string, apply: (c: Call) => void, allowed?: readonly CallState[]): Call {
    const next = cloneData(this.current(callId, allowed, 'this change'))
    apply(next)
    this.save(next)
    return next
  }

  /**
   * The call and, for an outcome, its effects and the caller's own writes, as one
   * transaction; memory now, listeners once durable. An effect that throws leaves
   * nothing written and memory as it was.
   */
  private save (next: Call, outcome?: Outcome, alsoRecord?: () => void): void {
    const prev = this.options.find(next.callId)
    const saved = this.options.repo.transaction(() => {
      if (outcome !== undefined) for (const effect of this.effects) effect(next, outcome)
      alsoRecord?.()
      for (const observe of this.observers) observe(prev, next)
      void this.options.repo.save(next)
    })
    this.options.remember(next)
    this.unsaved.set(next.callId, saved)
    saved.then(() => {
      if (this.unsaved.get(next.callId) === saved) this.unsaved.delete(next.callId)
      this.options.announce(next, outcome)
    }, (err: unknown) => {
      // Not an outage (those wait and retry in the journal): a change the store refused.
      // Memory goes back to what the store holds (unless a later change came since), so
      // the event or request that asked for it can be retried and recorded; the rejection
      // is kept, so saved() says so until the call's next change.
      if (prev !== undefined && this.options.find(next.callId) === next) this.options.remember(prev)
      this.options.log.error({ err, callId: next.callId, state: next.state }, 'call change not recorded')
    })
  }

  /** Resolves once the call's changes so far are durable (rejects if the last one was refused). */
  async saved (callId: string): Promise<void> { await this.unsaved.get(callId) }
}
