// Wrap-up codes (CONTRACT.md section 7): the agent (or a supervisor) picks what became
// of a call from the answer until the agent's ACW for it ends; a later pick replaces
// the earlier one. When the window closes the wrap-up becomes final: the pick, else the
// topic's code, else the default; it is audited, announced and written to Asterisk's
// queue_log once. The window closes on ACW's `ended` (which survives restarts: the ACW
// row does) or, for a call without ACW, on the call's end (the tracker's `call` event).
import { EventEmitter } from 'node:events'
import type { AcwEntry } from '../acw/types.ts'
import type { AuditSink } from '../audit/log.ts'
import type { CallLifecycle } from '../calls/lifecycle.ts'
import { type Call, type Wrapup } from '../calls/types.ts'
import { Errors, withDetails } from '../errors.ts'
import type { Log } from '../log.ts'
import { finalWrapup, labelOf, wrapupWindow, type WrapupCodes } from './rules.ts'

/**
 * One queue_log line written through AMI QueueLog. Reporting only: never awaited by
 * the wrap-up, a failure is logged and the line lost.
 */
export interface WrapupLogLine { queue: string, callId: string, agent: string, event: 'WRAPUP', data: string[] }
export interface WrapupLogPort { write: (line: WrapupLogLine) => Promise<void> }

export interface WrapupActor { name: string, role: string }

export interface WrapupDeps {
  /** The calls as the tracker holds them (get: memory; recall: memory, else the store). */
  calls: { get: (callId: string) => Call | undefined, recall: (callId: string) => Promise<Call | undefined> }
  lifecycle: Pick<CallLifecycle, 'recordWrapup' | 'saved'>
  /** The agent's ACW row, whatever call it is for. */
  acwOf: (agentId: string) => AcwEntry | undefined
  codes: WrapupCodes
  audit: AuditSink
  log: Log
  now: () => Date
  /** queue_log's agent column (MemberName, else the interface) and the agent's first queue. */
  member?: (agentId: string) => { name: string, queue?: string } | undefined
  queueLog?: WrapupLogPort
}

export interface WrapupChoice { code: string, note?: string }

const SYSTEM: WrapupActor = { name: 'pln123-cti', role: 'system' }

export class WrapupService extends EventEmitter<{ wrapup: [call: Call] }> {
  constructor (private readonly deps: WrapupDeps) { super() }

  /** The codes an agent may choose, and the default's code and label (for the panels' picker). */
  get codes (): { codes: ReadonlyArray<{ code: string, label: string }>, default: { code: string, label: string } } {
    const c = this.deps.codes
    return { codes: c.codes, default: { code: c.defaultCode, label: labelOf(c, c.defaultCode) } }
  }

  /**
   * The agent's (or a supervisor's) pick, recorded now; the caller waits for it to be
   * durable (lifecycle.saved). The call must be in memory (calls.recall brings it).
   * 400 UNKNOWN_WRAPUP_CODE, 409 CALL_NOT_CONNECTED before the answer, 409 WRAPUP_CLOSED after.
   */
  choose (callId: string, choice: WrapupChoice, by: WrapupActor): Call {
    const { codes } = this.deps
    if (!codes.codes.some(c => c.code === choice.code)) {
      const allowed = codes.codes.map(c => c.code)
      throw withDetails(new Errors.UnknownWrapupCode(`code "${choice.code}" is not a wrap-up code; allowed: ${allowed.join(', ')}`), { field: 'body.code', allowed })
    }
    const call = this.deps.calls.get(callId)
    if (call === undefined) throw new Errors.CallNotFound(`no call ${callId}`)
    const window = wrapupWindow(call, call.agentId !== undefined ? this.deps.acwOf(call.agentId) : undefined)
    if (window === 'not-answered') throw new Errors.CallNotConnected(`call ${callId} is not answered yet: a wrap-up can be chosen from the answer until the agent's ACW for it ends`)
    if (window === 'closed') {
      const why = call.connectedAt === undefined ? 'it was never answered' : 'the agent\'s ACW for it ended (or the call ended without ACW)'
      throw withDetails(new Errors.WrapupClosed(`the wrap-up of call ${callId} is closed: ${why}`), call.wrapup !== undefined ? { wrapup: wrapupView(call.wrapup) } : {})
    }
    const wrapup: Wrapup = {
      code: choice.code,
      label: labelOf(codes, choice.code),
      ...(choice.note !== undefined ? { note: choice.note } : {}),
      source: 'agent',
      at: this.deps.now().toISOString(),
      by: by.name
    }
    const next = this.deps.lifecycle.recordWrapup(callId, wrapup)
    // Same turn as the change: the journal writes both in one transaction.
    this.deps.audit.record({ actor: by.name, role: by.role, action: 'call.wrapup', target: callId, details: { code: wrapup.code, ...(wrapup.note !== undefined ? { note: wrapup.note } : {}) } })
    this.afterCommit(next, false)
    return next
  }

  /** An ACW that counted down ended: its call's window closes. */
  onAcwEnded (entry: AcwEntry): void {
    if (entry.callId !== undefined) this.close(entry.callId, 'ACW ended')
  }

  /**
   * A call changed (announced once durable): one that left its agent with no ACW
   * running for it (0 seconds, an agent ACW does not know) closes now.
   */
  onCallChanged (changed: Call): void {
    const call = this.deps.calls.get(changed.callId) ?? changed
    if (call.wrapup?.final === true || call.connectedAt === undefined || call.agentId === undefined) return
    if (wrapupWindow(call, this.deps.acwOf(call.agentId)) === 'closed') this.close(call.callId, 'the call ended without ACW')
  }

  /**
   * The agent is released from `call`, before ACW hears of it: an ACW still running for
   * another call of this agent (a call straight to the phone during ACW) is about to be
   * replaced by this call's, without an end of its own. That call's window closes now.
   */
  onReleased (agentId: string, call: Call): void {
    const prev = this.deps.acwOf(agentId)
    if (prev?.callId !== undefined && prev.callId !== call.callId && prev.endsAt !== undefined && prev.state !== 'ending') {
      this.close(prev.callId, 'its ACW made way for the agent\'s next call')
    }
  }

  /**
   * Makes the call's wrap-up final, once (idempotent: a final one stays). Never throws:
   * it runs inside ACW's end and the tracker's release, which must go on regardless.
   */
  close (callId: string, why: string): void {
    try {
      const here = this.deps.calls.get(callId)
      // In memory: now, in this turn (with the ACW row's change). Else from the store first.
      if (here !== undefined) { this.closeNow(here, why); return }
      this.deps.calls.recall(callId).then(c => { if (c !== undefined) this.closeNow(c, why) }, (err: unknown) => {
        this.deps.log.error({ callId, err }, 'wrap-up not made final: the call could not be read')
      })
    } catch (err) {
      this.deps.log.error({ callId, err }, 'wrap-up not made final')
    }
  }

  private closeNow (call: Call, why: string): void {
    try {
      // Never answered: there is nothing to wrap up (reports count it as abandoned).
      if (call.wrapup?.final === true || call.connectedAt === undefined || call.agentId === undefined) return
      const wrapup = finalWrapup(call, this.deps.codes, this.deps.now().toISOString())
      const next = this.deps.lifecycle.recordWrapup(call.callId, wrapup)
      this.deps.audit.record({ actor: SYSTEM.name, role: SYSTEM.role, action: 'call.wrapup.final', target: call.callId, details: { code: wrapup.code, source: wrapup.source, why } })
      this.afterCommit(next, true)
    } catch (err) {
      this.deps.log.error({ callId: call.callId, err }, 'wrap-up not made final')
    }
  }

  /** Once durable: announced; a final one is also written to queue_log (never a line the store does not hold). */
  private afterCommit (call: Call, final: boolean): void {
    this.deps.lifecycle.saved(call.callId).then(() => {
      this.emit('wrapup', call)
      if (final) this.writeQueueLog(call)
    }, () => {})
  }

  /**
   * queue_log: one line per final wrap-up, for the call's agent, like the ACW lines:
   *   <time>|<callid>|<queue>|<MemberName>|WRAPUP|<code>|<source>
   * app_queue has no event for a call's outcome, so the service writes its own verb (as
   * ACWSTART/ACWEND): a reader that does not know it skips the line rather than
   * miscounting it as one of app_queue's. Written at the close only, so a reader never
   * sees a code that is replaced later. No note: free text may hold '|' (the field
   * separator) and customer details, which stay in the store and the audit log.
   */
  private writeQueueLog (call: Call): void {
    const port = this.deps.queueLog
    const w = call.wrapup
    if (port === undefined || w === undefined || call.agentId === undefined) return
    const member = this.deps.member?.(call.agentId)
    const queue = call.queue ?? member?.queue
    if (member === undefined || queue === undefined) return
    const line: WrapupLogLine = { queue, callId: call.callId, agent: member.name, event: 'WRAPUP', data: [w.code, w.source] }
    const failed = (err: unknown): void => {
      this.deps.log.warn({ callId: call.callId, agentId: call.agentId, event: 'WRAPUP', err: { code: (err as { code?: string }).code, message: (err as Error).message } }, 'queue_log line not written')
    }
    try { port.write(line).catch(failed) } catch (err) { failed(err) }
  }
}

/** What closes the window, hooked up in one place (the wiring and the tests use it). */
export interface WrapupSources {
  tracker: { on: (e: 'call', fn: (call: Call) => void) => unknown, prependListener: (e: 'released', fn: (agentId: string, call: Call, reason: string) => void) => unknown }
  acw: { on: (e: 'ended', fn: (entry: AcwEntry) => void) => unknown }
}

export function listenForWindowEnds (wrapups: WrapupService, { tracker, acw }: WrapupSources): void {
  acw.on('ended', e => { wrapups.onAcwEnded(e) })
  tracker.on('call', c => { wrapups.onCallChanged(c) })
  // Before ACW's own listener: it replaces a running ACW of another call (see onReleased).
  tracker.prependListener('released', (agentId, call) => { wrapups.onReleased(agentId, call) })
}

/** The call view's wrap-up (CONTRACT.md section 7). */
export function wrapupView (w: Wrapup): { code: string, label: string, note?: string, source: Wrapup['source'], at: string, by?: string, final: boolean } {
  return {
    code: w.code,
    label: w.label,
    ...(w.note !== undefined ? { note: w.note } : {}),
    source: w.source,
    at: w.at,
    ...(w.by !== undefined ? { by: w.by } : {}),
    final: w.final === true
  }
}
