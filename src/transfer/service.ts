// The softphone's Direct Transfer button. One transfer per call, ever: a per-call lock
// makes a double press or a retried request get the first transfer's result, and a
// call that was transferred answers ALREADY_TRANSFERRED with that result. Success is
// what Asterisk reports (BlindTransfer event, Result: Success), not the action's ack.
// When Asterisk may have acted but did not say (no answer in time, the session lost),
// the outcome is unknown, not failed: the call stays "transferring", the agent stays
// held, no second BlindTransfer goes out, and what the PBX shows next decides.
import { EventEmitter } from 'node:events'
import { deadline } from '../deadline.ts'
import { Errors, withDetails } from '../errors.ts'
import { TRANSFER_TOPICS } from '../policy/types.ts'
import type { Log } from '../log.ts'
import type { OutcomeEffect } from '../calls/outcome-effects.ts'
import type { CallTracker } from '../calls/tracker.ts'
import type { ChannelSnapshot, TransferInfo } from '../calls/types.ts'
import { assertStoreReady, durableWithin, type Durability } from '../calls/durable.ts'

/** What the transfer needs from the PBX; the AMI adapter provides it in the wiring. */
export interface BlindTransferPort {
  blindTransfer: (agentChannel: string, context: string, exten: string) => Promise<void>
  /**
   * Calls back (with the error to answer) when the PBX connection drops; returns the
   * unsubscribe. A transfer waiting for its confirmation then fails at once instead of
   * waiting out the timeout: the confirmation cannot come over a dead connection.
   */
  onConnectionLost?: (cb: (err: Error) => void) => () => void
  /**
   * The live channels (CoreShowChannels), to settle a transfer whose outcome is unknown
   * when the AMI session stays up but no BlindTransfer event ever comes.
   */
  channels?: () => Promise<ChannelSnapshot[]>
}

export interface DirectoryEntry { index: number, name: string, context: string, exten: string }

export interface TransferOptions {
  /** How long to wait for Asterisk's BlindTransfer event after the action was accepted. */
  confirmTimeoutMs: number
  /** Longest wait between two checks of an unsettled transfer's channels (default 60 s). */
  maxCheckIntervalMs?: number
  /** The store's state: a press is refused before anything is done while it cannot take writes. */
  store?: Durability
}

/** Errors after which Asterisk may have moved the customer: the outcome is unknown. */
const OUTCOME_UNKNOWN = new Set(['AMI_CONNECTION_LOST', 'AMI_TIMEOUT', 'TRANSFER_OUTCOME_UNKNOWN'])

interface Waiter { resolve: (r: { success: boolean, result: string }) => void, reject: (err: Error) => void }

/** ACW's part in a transfer: pause the agent before the customer leaves, undo if it fails. */
export interface TransferHooks {
  /**
   * Records the agent's hold; runs inside the transaction that marks the call
   * "transferring". Returns the step to take once that has committed (the pause),
   * which goes out before the BlindTransfer.
   */
  hold: (agentId: string, callId: string, queue?: string) => () => void
  failed: (agentId: string, callId: string) => Promise<void>
}

/**
 * The caller's own record of a landed transfer (the route's audit entry). It runs in
 * the transaction that records the outcome, so a press costs one durable commit
 * after Asterisk's confirmation instead of two, and the two cannot disagree.
 */
export type RecordWithOutcome = (transfer: TransferInfo) => void

/** One press of the button and how it ended, for metrics: `result` is completed or the error code. */
export interface TransferAttempt { callId: string, target: number, result: string, seconds: number, reachedPbx: boolean }

export class TransferService extends EventEmitter<{ attempt: [TransferAttempt] }> {
  /** presses in progress, by call, with what they record alongside the outcome */
  private readonly inflight = new Map<string, { promise: Promise<TransferInfo>, recordWith?: RecordWithOutcome }>()
  /**
   * Presses waiting for Asterisk's BlindTransfer event, by call. One tracker listener
   * and one connection-lost subscription serve them all: a listener per press passed
   * Node's limit of 10 with 11 presses in flight (MaxListenersExceededWarning).
   */
  private readonly waiting = new Map<string, Waiter>()
  /** checks of the channels of transfers whose outcome is unknown, by call */
  private readonly checks = new Map<string, ReturnType<typeof setTimeout>>()
  private closed = false

  constructor (
    private readonly tracker: CallTracker,
    private readonly pbx: BlindTransferPort,
    private readonly directory: readonly DirectoryEntry[],
    private readonly opts: TransferOptions,
    private readonly log: Log,
    private readonly hooks?: TransferHooks,
    private readonly now: () => Date = () => new Date()
  ) {
    super()
    tracker.on('transfer', (callId, success, result) => {
      const w = this.waiting.get(callId)
      if (w !== undefined) { this.waiting.delete(callId); w.resolve({ success, result }); return }
      // Asterisk's word after the press gave up on it: a failure puts the call back
      // with the agent (a success was recorded by the tracker itself).
      if (!success && this.tracker.get(callId)?.state === 'transferring') {
        this.settled(callId, () => this.tracker.backToAgent(callId, `not made: Asterisk reported the blind transfer as ${result}; press again`))
      }
    })
    // Any way a transferring call found its agent again (a late failure, a check, a
    // resync): ACW's hold goes. A press in progress does that itself.
    tracker.on('notTransferred', call => {
      if (call.agentId === undefined || this.inflight.has(call.callId)) return
      void this.hooks?.failed(call.agentId, call.callId).catch(() => {})
    })
    tracker.on('outcome', call => { this.cancelCheck(call.callId) })
    pbx.onConnectionLost?.(err => {
      const all = [...this.waiting.values()]
      this.waiting.clear()
      for (const w of all) w.reject(err)
    })
  }

  /**
   * The outcome effect that writes the landed press's own record (its audit entry),
   * in the outcome's transaction: the wiring lists it in the outcome effects.
   */
  readonly recordPressOutcome: OutcomeEffect = (call, outcome) => {
    if (outcome !== 'transferred' || call.transfer === undefined) return
    this.inflight.get(call.callId)?.recordWith?.(call.transfer)
  }

  /**
   * After a resync: transfers it could not settle either (left by a restart, or still
   * open) are checked on as after a press, so none waits for the next reconnect.
   */
  checkUnsettled (): number {
    let n = 0
    for (const c of this.tracker.liveCalls()) {
      if (c.state !== 'transferring' || c.transfer === undefined || this.inflight.has(c.callId) || this.checks.has(c.callId)) continue
      this.scheduleCheck(c.callId, c.transfer.target, this.opts.confirmTimeoutMs)
      n++
    }
    return n
  }

  /** Stops the checks of unsettled transfers (the service is stopping). */
  close (): void {
    this.closed = true
    for (const timer of this.checks.values()) clearTimeout(timer)
    this.checks.clear()
  }

  /**
   * Transfers the customer of `callId` to directory entry `target`. Resolves with the
   * completed transfer; throws a coded error otherwise. Concurrent calls for the same
   * call share the first one's outcome. `recordWith` (optional) is written in the
   * transaction that records the landed transfer; it is not called otherwise.
   */
  async directTransfer (callId: string, target: number, recordWith?: RecordWithOutcome): Promise<TransferInfo> {
    const started = process.hrtime.bigint()
    const progress = { reachedPbx: false }
    const report = (result: string): void => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      this.emit('attempt', { callId, target, result, seconds, reachedPbx: progress.reachedPbx })
    }
    try {
      const running = this.inflight.get(callId)
      if (running !== undefined) {
        const first = await running.promise
        throw withDetails(new Errors.AlreadyTransferred(`call ${callId} was already transferred to ${first.target}; no second transfer was made`), { transfer: first })
      }
      const p = this.run(callId, target, progress)
      this.inflight.set(callId, { promise: p, ...(recordWith !== undefined ? { recordWith } : {}) })
      try {
        const done = await p
        report('completed')
        return done
      } finally {
        this.inflight.delete(callId)
      }
    } catch (err) {
      report((err as { code?: string }).code ?? 'error')
      throw err
    }
  }

  private async run (callId: string, target: number, progress: { reachedPbx: boolean }): Promise<TransferInfo> {
    const call = this.tracker.get(callId)
    if (call === undefined) throw new Errors.CallNotFound(`no call ${callId}`)
    if (call.transfer?.status === 'completed' || call.state === 'transferred') {
      throw withDetails(new Errors.AlreadyTransferred(`call ${callId} was already transferred; no second transfer was made`), { transfer: call.transfer })
    }
    if (call.state === 'transferring' && call.transfer?.status === 'pending') throw this.outcomeUnknown(call.callId, call.transfer)
    if (call.state !== 'connected') throw new Errors.CallNotConnected(`call ${callId} is ${call.state}${call.endReason !== undefined ? ` (${call.endReason})` : ''}: nothing to transfer`)
    const inquiry = call.inquiry
    if (inquiry === undefined) throw new Errors.InquiryRequired(`call ${callId} has no inquiry: classify the topic first`)
    if (!TRANSFER_TOPICS.has(inquiry.topic) || inquiry.decision.action !== 'transfer') {
      throw new Errors.NotTransferable(`topic ${inquiry.topic} is handled by the agent (${inquiry.decision.action}), not transferred`)
    }
    if (inquiry.decision.transferTarget !== undefined && inquiry.decision.transferTarget !== target) {
      throw new Errors.NotTransferable(`the policy sends topic ${inquiry.topic} to entry ${inquiry.decision.transferTarget}, not ${target}`)
    }
    if (call.consent?.accepted !== true) {
      throw new Errors.ConsentRequired(call.consent === undefined
        ? 'the customer has not consented yet: read the script and record YA/Baik first'
        : 'the customer declined the transfer')
    }
    const entry = this.directory.find(d => d.index === target)
    if (entry === undefined) throw new Errors.TargetNotFound(`no Direct Transfer entry ${target}`)
    const agentChannel = call.agentChannel
    if (agentChannel === undefined) throw new Errors.AgentLegUnknown(`the agent's channel of call ${callId} is not known (answered via a CTI event without data.agentChannel)`)

    const store = this.opts.store
    assertStoreReady(store, `call ${callId} was not transferred`)

    const at = this.now().toISOString()
    // "transferring" and ACW's hold in one durable commit; the pause goes out after it.
    let pauseAgent = (): void => {}
    this.tracker.lifecycle.startTransfer(callId, target, at, () => {
      if (call.agentId !== undefined && this.hooks !== undefined) pauseAgent = this.hooks.hold(call.agentId, callId, call.queue)
    })
    if (store !== undefined) {
      try {
        await durableWithin(this.tracker.lifecycle.saved(callId), store, `call ${callId} was not transferred`)
      } catch (err) {
        // Nothing went to the PBX: undo (written after "transferring", in order) and say so.
        if (this.tracker.get(callId)?.state === 'transferring') this.tracker.lifecycle.backToAgent(callId, { status: 'failed', target, at, message: 'the store could not record the press' })
        if (call.agentId !== undefined) await this.hooks?.failed(call.agentId, callId).catch(() => {})
        throw err
      }
    }

    // Listen before sending: the event can arrive before the action's response.
    const confirmation = this.waitForResult(callId)
    try {
      pauseAgent()
      progress.reachedPbx = true
      await this.pbx.blindTransfer(agentChannel, entry.context, entry.exten)
      const result = await confirmation.promise
      if (!result.success) throw new Errors.TransferFailed(`Asterisk reported the blind transfer as ${result.result}`)
    } catch (err) {
      confirmation.cancel()
      const code = (err as { code?: string }).code
      // Kept with the call and shown to its agent: the PBX port's client-safe text when it
      // has one (no AMI user, host or port); the log below keeps the full one.
      const message = (err as { publicMessage?: string }).publicMessage ?? (err as Error).message
      const logged = (err as Error).message
      const meanwhile = this.tracker.get(callId)
      if (code !== undefined && OUTCOME_UNKNOWN.has(code) && meanwhile?.state === 'transferred') {
        // Asterisk's event came in before its late answer: the transfer landed.
        return { status: 'completed', target, at: meanwhile.transfer?.at ?? at }
      }
      if (code !== undefined && OUTCOME_UNKNOWN.has(code) && meanwhile?.state === 'transferring') {
        // Sent, and Asterisk may have moved the customer without saying so. "connected"
        // could be false (a customer at ICONNET with no record, the agent free before
        // ACW, a second BlindTransfer at the next press), so the call stays
        // "transferring", the agent stays held, and the BlindTransfer event, a check of
        // the channels or the resync after a reconnect settles it.
        const pending: TransferInfo = { status: 'pending', target, at, message }
        this.settled(callId, () => this.tracker.lifecycle.transferOutcomeUnknown(callId, pending))
        this.log.warn({ callId, target, err: { code, message: logged } }, 'direct transfer outcome unknown')
        this.scheduleCheck(callId, target, 0)
        throw this.outcomeUnknown(callId, pending, message)
      }
      const current = this.tracker.get(callId)
      if (current?.state === 'transferring') {
        this.tracker.lifecycle.backToAgent(callId, { status: 'failed', target, at, message })
      }
      if (call.agentId !== undefined) await this.hooks?.failed(call.agentId, callId).catch(() => {})
      this.log.warn({ callId, target, err: { code, message: logged } }, 'direct transfer failed')
      if (code === 'AMI_ACTION_FAILED') throw new Errors.TransferFailed(message)
      throw err
    }
    if (store !== undefined) {
      // Asterisk moved the customer; the outcome (and its APKT record) is claimed only
      // once durable. In an outage the journal keeps it and writes it when the store is
      // back; a second press is refused (the call is not connected): never a second transfer.
      await durableWithin(this.tracker.lifecycle.saved(callId), store,
        `Asterisk confirmed the transfer of call ${callId}, but the store cannot record it now; it will be recorded when the store is writable again. Do not press again`)
    }
    const done = this.tracker.get(callId)
    return { status: 'completed', target, at: done?.transfer?.at ?? at }
  }

  private outcomeUnknown (callId: string, transfer: TransferInfo, why?: string): Error {
    const text = why !== undefined
      ? `${why}. Asterisk may have moved the customer: the call stays transferring and the agent held until the PBX shows where the customer is. Do not press again.`
      : `an earlier press at ${transfer.at} may have reached Asterisk and its outcome is not known yet${transfer.message !== undefined ? ` (${transfer.message})` : ''}; no second transfer is made until the PBX shows where the customer is`
    return withDetails(new Errors.TransferOutcomeUnknown(`call ${callId}: ${text}`), { transfer })
  }

  /** The late decision on an unknown outcome; a store failure leaves it to the next check or resync. */
  private settled (callId: string, decide: () => unknown): void {
    try {
      decide()
    } catch (err) {
      this.log.warn({ callId, err: { message: (err as Error).message } }, 'unconfirmed transfer not settled yet')
    }
  }

  /**
   * Looks at the call's live channels after `delayMs`, and again with a growing pause
   * for as long as the call is transferring with no press waiting on it: the session
   * may stay up and no BlindTransfer event ever come.
   */
  private scheduleCheck (callId: string, target: number, delayMs: number): void {
    if (this.closed || this.pbx.channels === undefined) return
    this.cancelCheck(callId)
    const timer = setTimeout(() => {
      this.checks.delete(callId)
      void this.check(callId, target).then(open => {
        if (!open) return
        const next = Math.min(Math.max(delayMs * 2, this.opts.confirmTimeoutMs), this.opts.maxCheckIntervalMs ?? 60_000)
        this.scheduleCheck(callId, target, next)
      })
    }, delayMs)
    timer.unref?.()
    this.checks.set(callId, timer)
  }

  private cancelCheck (callId: string): void {
    const timer = this.checks.get(callId)
    if (timer !== undefined) { clearTimeout(timer); this.checks.delete(callId) }
  }

  /** One check; resolves true while the outcome is still open. */
  private async check (callId: string, target: number): Promise<boolean> {
    const open = (): boolean => !this.closed && !this.inflight.has(callId) && this.tracker.get(callId)?.state === 'transferring'
    if (!open() || this.pbx.channels === undefined) return false
    let channels: ChannelSnapshot[]
    try {
      channels = await this.pbx.channels()
    } catch (err) {
      // AMI down: the resync after the reconnect looks at the same channels; keep trying meanwhile.
      this.log.debug({ callId, err: { message: (err as Error).message } }, 'channels of an unconfirmed transfer not listed')
      return open()
    }
    if (!open()) return false
    const entry = this.directory.find(d => d.index === target)
    this.settled(callId, () => this.tracker.settleTransfer(callId, channels, entry))
    return open()
  }

  private waitForResult (callId: string): { promise: Promise<{ success: boolean, result: string }>, cancel: () => void } {
    let cancel = (): void => {}
    const promise = new Promise<{ success: boolean, result: string }>((resolve, reject) => {
      const timer = deadline(this.opts.confirmTimeoutMs, () => {
        cleanup()
        reject(new Errors.TransferOutcomeUnknown(`Asterisk accepted the transfer but did not confirm it within ${this.opts.confirmTimeoutMs} ms; outcome unknown`))
      })
      const waiter: Waiter = {
        resolve: r => { timer.cancel(); resolve(r) },
        reject: err => { timer.cancel(); reject(err) }
      }
      const cleanup = (): void => { timer.cancel(); if (this.waiting.get(callId) === waiter) this.waiting.delete(callId) }
      cancel = cleanup
      this.waiting.set(callId, waiter)
    })
    promise.catch(() => {}) // awaited later; an early rejection must not be "unhandled"
    return { promise, cancel }
  }
}
