// The softphone's Direct Transfer button. One transfer per call, ever: a per-call lock
// makes a double press or a retried request get the first transfer's result, and a
// call that was transferred answers ALREADY_TRANSFERRED with that result. Success is
// what Asterisk reports (BlindTransfer event, Result: Success), not the action's ack.
import { EventEmitter } from 'node:events'
import { Errors, withDetails } from '../errors.ts'
import type { Log } from '../log.ts'
import type { CallTracker } from '../calls/tracker.ts'
import type { TransferInfo } from '../calls/types.ts'

/** What the transfer needs from the PBX; the AMI adapter provides it in the wiring. */
export interface BlindTransferPort {
  blindTransfer: (agentChannel: string, context: string, exten: string) => Promise<void>
  /**
   * Calls back (with the error to answer) when the PBX connection drops; returns the
   * unsubscribe. A transfer waiting for its confirmation then fails at once instead of
   * waiting out the timeout: the confirmation cannot come over a dead connection.
   */
  onConnectionLost?: (cb: (err: Error) => void) => () => void
}

export interface DirectoryEntry { index: number, name: string, context: string, exten: string }

export interface TransferOptions {
  /** How long to wait for Asterisk's BlindTransfer event after the action was accepted. */
  confirmTimeoutMs: number
}

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

const TRANSFER_TOPICS = new Set(['activation', 'disruption'])

export class TransferService extends EventEmitter<{ attempt: [TransferAttempt] }> {
  /** presses in progress, by call, with what they record alongside the outcome */
  private readonly inflight = new Map<string, { promise: Promise<TransferInfo>, recordWith?: RecordWithOutcome }>()

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
    tracker.onOutcome((call, outcome) => {
      if (outcome !== 'transferred' || call.transfer === undefined) return
      this.inflight.get(call.callId)?.recordWith?.(call.transfer)
    })
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

    const at = this.now().toISOString()
    // "transferring" and ACW's hold in one durable commit; the pause goes out after it.
    let pauseAgent = (): void => {}
    this.tracker.update(callId, c => {
      c.state = 'transferring'
      c.transfer = { status: 'pending', target, at }
    }, undefined, () => {
      if (call.agentId !== undefined && this.hooks !== undefined) pauseAgent = this.hooks.hold(call.agentId, callId, call.queue)
    })
    this.log.info({ callId, agentId: call.agentId, target, agentChannel }, 'direct transfer requested')

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
      const message = (err as Error).message
      const current = this.tracker.get(callId)
      // The connection dropped with the BlindTransfer sent: Asterisk may or may not have
      // moved the customer. Saying "connected" could be false (a customer at ICONNET with
      // no record, and a second BlindTransfer at the next press), so the call stays
      // "transferring", outcome unknown, and the resync after the reconnect settles it
      // from the live channels (test/faults/asterisk-killed-transfer.test.ts).
      const unknown = (err as { code?: string }).code === 'AMI_CONNECTION_LOST'
      if (current?.state === 'transferring') {
        this.tracker.update(callId, c => {
          if (unknown) {
            c.transfer = { status: 'pending', target, at, message }
          } else {
            c.state = 'connected'
            c.transfer = { status: 'failed', target, at, message }
          }
        })
      }
      if (call.agentId !== undefined) await this.hooks?.failed(call.agentId, callId).catch(() => {})
      this.log.warn({ callId, target, err: { code: (err as { code?: string }).code, message } }, 'direct transfer failed')
      if ((err as { code?: string }).code === 'AMI_ACTION_FAILED') throw new Errors.TransferFailed(message)
      throw err
    }
    const done = this.tracker.get(callId)
    if (done?.state === 'transferring') {
      // Asterisk moved the customer but the store could not record it (disk full, read
      // only): no success claim for what is not recorded. The tracker keeps the fact and
      // records it, with its APKT record, once the store is back; a second press is
      // refused (the call is not connected), so there is never a second transfer.
      throw new Errors.StoreUnavailable(`Asterisk confirmed the transfer of call ${callId}, but the store cannot record it now; it will be recorded when the store is writable again. Do not press again.`)
    }
    return { status: 'completed', target, at: done?.transfer?.at ?? at }
  }

  private waitForResult (callId: string): { promise: Promise<{ success: boolean, result: string }>, cancel: () => void } {
    let cancel = (): void => {}
    const promise = new Promise<{ success: boolean, result: string }>((resolve, reject) => {
      const onTransfer = (id: string, success: boolean, result: string): void => {
        if (id !== callId) return
        cleanup()
        resolve({ success, result })
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Errors.TransferFailed(`Asterisk accepted the transfer but did not confirm it within ${this.opts.confirmTimeoutMs} ms; outcome unknown, see the call's state`))
      }, this.opts.confirmTimeoutMs)
      const unsubscribe = this.pbx.onConnectionLost?.(err => { cleanup(); reject(err) })
      const cleanup = (): void => { clearTimeout(timer); this.tracker.off('transfer', onTransfer); unsubscribe?.() }
      cancel = cleanup
      this.tracker.on('transfer', onTransfer)
    })
    promise.catch(() => {}) // awaited later; an early rejection must not be "unhandled"
    return { promise, cancel }
  }
}
