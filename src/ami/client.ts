// The AMI adapter: the only module that touches asterisk-manager. It keeps that
// library for framing and parsing, and covers its gaps (CONTRACT.md section 2):
//  - field values are checked for CR/LF/NUL before anything is written (guard.ts);
//  - login sends `Events:` (the library sends `Event:`, which Asterisk ignores);
//  - actions resolve or reject: per-action timeout, in-flight actions reject at once
//    when the connection drops, actions while not logged in reject AMI_UNAVAILABLE
//    (the library would hold or silently lose them);
//  - list actions collect their item events until the ...Complete event;
//  - reconnect is ours (one library instance per connection, abandoned on loss), with
//    capped exponential back-off and jitter, a connect/login timeout, and a Ping
//    keepalive that notices a peer that stopped answering; the back-off starts over
//    only after a session stayed up reconnect.stableMs, so a peer that drops every
//    session right after login is not met with a reconnect (and resync) storm;
//  - an action gate (setActionGate): an instance of an HA group that may not act now
//    (a standby, or an active whose lease may have run out) refuses every action at
//    once, unsent; only Ping and Logoff, which change nothing on the PBX, pass;
//  - no AMI event or ActionID can reach the library's own event names, and a message
//    has a size limit (library.ts, reader.ts).
import { EventEmitter } from 'node:events'
import AsteriskManager from 'asterisk-manager'
import { Backoff } from '../backoff.ts'
import { deadline, type Deadline } from '../deadline.ts'
import { AmiError } from './errors.ts'
import { normalizeEvent, normalizeResponse, type AmiEvent, type AmiResponse } from './events.ts'
import { assertSafeFields, type Fields } from './guard.ts'
import { captureSocket, takeOverReading } from './library.ts'
import type { Log } from '../log.ts'

export interface AmiClientOptions {
  host: string
  port: number
  username: string
  secret: string
  /** Value of the Events header at login: 'on', 'off' or a class list like 'call,agent'. */
  events?: string
  actionTimeoutMs: number
  connectTimeoutMs: number
  pingIntervalMs: number
  /** stableMs: how long a session must stay up before the back-off starts over (default 30 s). */
  reconnect: { initialMs: number, maxMs: number, stableMs?: number }
  /** Longest message Asterisk may send (default 1 MiB); past it the connection is dropped. */
  maxMessageBytes?: number
  logger: Log
  random?: () => number
}

export type AmiState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed'

export interface AmiStatus {
  state: AmiState
  since: string
  lastError?: string
  connects: number
  reconnectAttempts: number
}

export interface AmiListResult { response: AmiResponse, items: AmiEvent[] }

interface Pending {
  action: string
  resolve: (r: AmiResponse | AmiListResult) => void
  reject: (e: Error) => void
  timer: Deadline
  list?: { items: AmiEvent[], response?: AmiResponse }
}

interface AmiClientEvents {
  event: [AmiEvent]
  connected: []
  disconnected: [reason: string]
  state: [AmiState]
}

type Manager = ReturnType<typeof AsteriskManager>

/** Actions that change nothing on the PBX: they keep the session alive or end it, gate or not. */
const UNGATED = new Set(['ping', 'logoff'])

/** One AMI message past this many bytes drops the connection (ami.maxMessageBytes). */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024
/** A session must stay up this long before the reconnect back-off starts over. */
export const DEFAULT_STABLE_MS = 30_000

export class AmiClient extends EventEmitter<AmiClientEvents> {
  private readonly opts: AmiClientOptions
  private readonly log: Log
  private readonly backoff: Backoff
  private _state: AmiState = 'idle'
  private since = new Date()
  private lastError: string | undefined
  private connects = 0
  private mgr: Manager | undefined
  private generation = 0
  private seq = 0
  private readonly pending = new Map<string, Pending>()
  private connectTimer: NodeJS.Timeout | undefined
  private reconnectTimer: NodeJS.Timeout | undefined
  private pingTimer: NodeJS.Timeout | undefined
  private stableTimer: NodeJS.Timeout | undefined
  private gate: (() => boolean) | undefined

  constructor (opts: AmiClientOptions) {
    super()
    // Login bypasses send() (the library writes it itself): refuse unsafe credentials here.
    assertSafeFields('Login', { Username: opts.username, Secret: opts.secret, Events: opts.events ?? 'on' })
    this.opts = opts
    this.log = opts.logger
    this.backoff = new Backoff({ ...opts.reconnect, ...(opts.random ? { random: opts.random } : {}) })
  }

  get state (): AmiState { return this._state }
  get ready (): boolean { return this._state === 'connected' }

  status (): AmiStatus {
    return {
      state: this._state,
      since: this.since.toISOString(),
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      connects: this.connects,
      reconnectAttempts: this.backoff.attempts
    }
  }

  /** Starts connecting; from here on the adapter keeps itself connected until close(). */
  start (): void {
    if (this._state !== 'idle') return
    this.connect()
  }

  /**
   * From now on every action but Ping and Logoff is sent only while `gate` says yes; when
   * it says no the action rejects at once (AMI_UNAVAILABLE) and nothing reaches the socket.
   * Asked at each action, so the answer is the one of that moment (src/ha/lease.ts mayAct).
   */
  setActionGate (gate: (() => boolean) | undefined): void { this.gate = gate }

  /** Sends one action and resolves with its response; rejects with an AmiError. */
  async action (name: string, fields: Fields = {}, opts: { timeoutMs?: number } = {}): Promise<AmiResponse> {
    return await (this.send(name, fields, opts.timeoutMs, false) as Promise<AmiResponse>)
  }

  /** Sends a list action (CoreShowChannels, QueueStatus, ...) and collects its items. */
  async list (name: string, fields: Fields = {}, opts: { timeoutMs?: number } = {}): Promise<AmiListResult> {
    return await (this.send(name, fields, opts.timeoutMs, true) as Promise<AmiListResult>)
  }

  async close (): Promise<void> {
    if (this._state === 'closed') return
    const mgr = this.mgr
    const wasConnected = this._state === 'connected'
    if (wasConnected && mgr !== undefined) {
      await this.action('Logoff', {}, { timeoutMs: 500 }).catch(() => {})
    }
    this.abandon()
    this.failPending('AMI_UNAVAILABLE', 'the AMI adapter is closing')
    clearTimeout(this.reconnectTimer)
    this.setState('closed', 'closed by the service')
    if (wasConnected) this.emit('disconnected', 'closed by the service')
  }

  private send (name: string, fields: Fields, timeoutMs: number | undefined, isList: boolean): Promise<AmiResponse | AmiListResult> {
    try {
      assertSafeFields(name, fields)
    } catch (err) {
      return Promise.reject(err)
    }
    if (this.gate !== undefined && !UNGATED.has(name.toLowerCase()) && !this.gate()) {
      const why = 'this instance may not act on the PBX now (it is not the active instance of its HA group)'
      return Promise.reject(new AmiError('AMI_UNAVAILABLE', name, `${name} was not sent: ${why}`, undefined, `${name} was not sent: ${why}; try again later`))
    }
    const mgr = this.mgr
    if (this._state !== 'connected' || mgr === undefined) {
      return Promise.reject(new AmiError('AMI_UNAVAILABLE', name,
        `AMI is ${this._state}${this.lastError ? ` (${this.lastError})` : ''}: ${name} was not sent`))
    }
    const id = `CTI${this.generation}-${++this.seq}`
    const limit = timeoutMs ?? this.opts.actionTimeoutMs
    return new Promise((resolve, reject) => {
      const timer = deadline(limit, () => {
        if (this.pending.delete(id)) {
          mgr.removeAllListeners(id)
          reject(new AmiError('AMI_TIMEOUT', name, `Asterisk did not answer ${name} within ${limit} ms`))
        }
      })
      const p: Pending = { action: name, resolve, reject, timer }
      if (isList) p.list = { items: [] }
      this.pending.set(id, p)
      // Only a response carrying this id gets here (takeOverReading): the library gave a
      // "Response: Follows" without one to whichever action was sent last.
      mgr.action({ ...fields, action: name, actionid: id }, (_err, raw) => { if (raw !== undefined) this.onResponse(id, raw) })
    })
  }

  private onResponse (id: string, raw: Record<string, unknown>): void {
    const p = this.pending.get(id)
    if (p === undefined) return // timed out or failed already
    const res = normalizeResponse(raw)
    if (res.response.toLowerCase() === 'error') {
      this.settle(id)
      p.reject(new AmiError('AMI_ACTION_FAILED', p.action, `Asterisk refused ${p.action}: ${res.message || 'no message'}`, res.fields))
      return
    }
    if (p.list !== undefined) {
      p.list.response = res
      return // items follow as events carrying our ActionID
    }
    this.settle(id)
    p.resolve(res)
  }

  private onEvent (raw: Record<string, unknown>): void {
    const ev = normalizeEvent(raw)
    if (ev.actionId !== undefined) {
      const p = this.pending.get(ev.actionId)
      if (p?.list !== undefined) {
        if ((ev.fields.eventlist ?? '').toLowerCase() === 'complete' || ev.event.endsWith('Complete')) {
          this.settle(ev.actionId)
          p.resolve({ response: p.list.response ?? { response: 'Success', message: '', actionId: ev.actionId, fields: Object.create(null) }, items: p.list.items })
        } else {
          p.list.items.push(ev)
        }
        return
      }
    }
    try {
      this.emit('event', ev)
    } catch (err) {
      // A consumer's bug must not take the connection (or the process) down with it.
      this.log.error({ err, event: ev.event }, 'AMI event handler failed')
    }
  }

  private settle (id: string): void {
    const p = this.pending.get(id)
    if (p === undefined) return
    p.timer.cancel()
    this.pending.delete(id)
    this.mgr?.removeAllListeners(id)
  }

  private failPending (code: 'AMI_UNAVAILABLE' | 'AMI_CONNECTION_LOST', why: string): void {
    for (const [id, p] of this.pending) {
      p.timer.cancel()
      this.pending.delete(id)
      p.reject(new AmiError(code, p.action, code === 'AMI_CONNECTION_LOST'
        ? `AMI connection lost while ${p.action} was in flight (${why}); its outcome is unknown`
        : `${p.action} not completed: ${why}`))
    }
  }

  private connect (): void {
    const gen = ++this.generation
    this.setState('connecting', this.lastError)
    const mgr = AsteriskManager(undefined, this.opts.host, this.opts.username, this.opts.secret, true)
    this.mgr = mgr
    const current = (): boolean => this.generation === gen
    // Login gets an id of ours too: takeOverReading answers only ids we issued.
    const loginId = `CTI${gen}-login`
    // asterisk-manager logs in with `Event: on|off`; Asterisk only reads `Events`.
    // Its login goes through this.action, so that is where the header is put right.
    const send = mgr.action
    mgr.action = (req, cb) => send(req.action === 'login'
      ? { action: 'login', username: req.username, secret: req.secret, events: this.opts.events ?? 'on', actionid: loginId }
      : req, cb)
    let socketError: string | undefined
    mgr.on('error', (err: unknown) => { if (err instanceof Error) socketError = err.message })
    // Only the socket emits 'close' now (takeOverReading); its argument is a boolean.
    mgr.on('close', (hadError: unknown) => {
      if (typeof hadError !== 'boolean' || !current()) return
      this.lost(socketError !== undefined ? `connection failed: ${socketError}` : 'connection closed by Asterisk')
    })
    this.connectTimer = setTimeout(() => {
      if (current()) this.lost(`not logged in within ${this.opts.connectTimeoutMs} ms`)
    }, this.opts.connectTimeoutMs)
    const login = (): void => {
      mgr.login((err) => {
        if (!current()) return
        if (err !== undefined) {
          const msg = typeof err.message === 'string' ? err.message : 'login failed'
          this.lost(`login refused for user "${this.opts.username}": ${msg}`)
          return
        }
        clearTimeout(this.connectTimer)
        clearTimeout(this.stableTimer)
        this.stableTimer = setTimeout(() => { if (current()) this.backoff.reset() }, this.opts.reconnect.stableMs ?? DEFAULT_STABLE_MS)
        this.stableTimer.unref()
        this.connects++
        this.lastError = undefined
        this.setState('connected')
        this.startPing(gen)
        this.emit('connected')
      })
    }
    const max = this.opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    const sock = captureSocket(() => {
      mgr.connect(this.opts.port, this.opts.host, () => { if (current()) login() })
    })
    takeOverReading(mgr, sock, {
      maxChars: max,
      event: raw => { if (current()) this.onEvent(raw) },
      isOurs: id => id === loginId || this.pending.has(id),
      overflow: () => {
        sock.destroy() // stop reading now: the rest of the flood is not ours to buffer
        if (current()) this.lost(`Asterisk sent more than ${max} bytes without ending a message (ami.maxMessageBytes); connection dropped`)
      }
    })
  }

  /** Drops the current connection's library instance; late callbacks from it are ignored. */
  private abandon (): void {
    this.generation++
    clearTimeout(this.connectTimer)
    clearTimeout(this.stableTimer)
    clearInterval(this.pingTimer)
    const mgr = this.mgr
    this.mgr = undefined
    try { mgr?.disconnect() } catch {}
  }

  private lost (reason: string): void {
    const wasConnected = this._state === 'connected'
    this.abandon()
    this.failPending(wasConnected ? 'AMI_CONNECTION_LOST' : 'AMI_UNAVAILABLE', reason)
    this.lastError = reason
    this.setState('disconnected', reason)
    if (wasConnected) this.emit('disconnected', reason)
    const delay = this.backoff.next()
    this.log.debug({ delayMs: delay, attempt: this.backoff.attempts }, 'AMI reconnect scheduled')
    this.reconnectTimer = setTimeout(() => { if (this._state === 'disconnected') this.connect() }, delay)
    this.reconnectTimer.unref()
  }

  private startPing (gen: number): void {
    clearInterval(this.pingTimer)
    this.pingTimer = setInterval(() => {
      if (this.generation !== gen || this._state !== 'connected') return
      this.action('Ping').catch((err: AmiError) => {
        if (this.generation === gen && err.code === 'AMI_TIMEOUT') this.lost('Asterisk stopped answering (Ping timed out)')
      })
    }, this.opts.pingIntervalMs)
    this.pingTimer.unref()
  }

  private lastLogged = ''

  /** Logs a change of state once; a repeat of the same failure is only debug. */
  private setState (state: AmiState, reason?: string): void {
    const changed = state !== this._state
    if (changed) { this._state = state; this.since = new Date() }
    const key = `${state}|${reason ?? ''}`
    if (key !== this.lastLogged && !(state === 'connecting' && this.lastLogged.startsWith('disconnected|'))) {
      const line = { ami: { state, host: this.opts.host, port: this.opts.port, ...(reason ? { reason } : {}) } }
      if (state === 'disconnected') this.log.warn(line, `AMI disconnected: ${reason ?? ''}`)
      else this.log.info(line, `AMI ${state}`)
      this.lastLogged = key
    } else {
      this.log.debug({ ami: { state, reason } }, 'AMI state (repeat)')
    }
    if (changed) this.emit('state', state)
  }
}
