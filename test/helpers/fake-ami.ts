// A small fake AMI server for fault injection that a real Asterisk cannot be made to
// produce: garbage bytes, messages split across many TCP chunks, actions that never
// get an answer, a peer that closes mid-message. It records every byte it received,
// so tests can assert what did (or did not) reach the socket.
import net from 'node:net'

export interface FakeAction { headers: Record<string, string>, raw: string }

export type Handler = (action: FakeAction, sock: net.Socket, server: FakeAmi) => boolean | undefined

/**
 * Asterisk's answer to the resync's list actions, as one string: its Response, a
 * CoreShowChannel event per channel (CoreShowChannels), and the Complete event that ends
 * the list. QueueStatus is answered with no members (`channels` is not used for it).
 */
export function listAnswer (id: string, action: 'coreshowchannels' | 'queuestatus', channels: ReadonlyArray<Record<string, string>>): string {
  const items = action === 'coreshowchannels' ? channels : []
  const complete = action === 'coreshowchannels' ? 'CoreShowChannelsComplete' : 'QueueStatusComplete'
  return `Response: Success\r\nActionID: ${id}\r\nEventList: start\r\nMessage: list will follow\r\n\r\n` +
    items.map(c => `Event: CoreShowChannel\r\nActionID: ${id}\r\n${Object.entries(c).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`).join('') +
    `Event: ${complete}\r\nActionID: ${id}\r\nEventList: Complete\r\nListItems: ${items.length}\r\n\r\n`
}

export interface FakeAmiOptions {
  /** Called for every action first; return true when it answered (or chose not to). */
  handler?: Handler
  /** Refuse every login with this message. */
  rejectLogin?: string
  /** Send FullyBooted after a successful login (as Asterisk does). */
  fullyBooted?: boolean
}

export class FakeAmi {
  readonly server: net.Server
  readonly sockets = new Set<net.Socket>()
  received = ''
  actions: FakeAction[] = []
  connections = 0
  opts: FakeAmiOptions

  private constructor (opts: FakeAmiOptions) {
    this.opts = opts
    this.server = net.createServer(sock => this.accept(sock))
  }

  static async start (opts: FakeAmiOptions = {}, port = 0): Promise<FakeAmi> {
    const f = new FakeAmi(opts)
    await new Promise<void>((resolve, reject) => {
      f.server.once('error', reject)
      f.server.listen(port, '127.0.0.1', () => resolve())
    })
    return f
  }

  get port (): number { return (this.server.address() as net.AddressInfo).port }

  private accept (sock: net.Socket): void {
    this.connections++
    this.sockets.add(sock)
    sock.on('close', () => this.sockets.delete(sock))
    sock.on('error', () => {})
    sock.write('Asterisk Call Manager/9.0.0\r\n')
    let buf = ''
    sock.on('data', (d: Buffer) => {
      const text = d.toString('utf8')
      this.received += text
      buf += text
      let idx: number
      while ((idx = buf.indexOf('\r\n\r\n')) >= 0) {
        const raw = buf.slice(0, idx)
        buf = buf.slice(idx + 4)
        const headers: Record<string, string> = {}
        for (const line of raw.split('\r\n')) {
          const i = line.indexOf(':')
          if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
        }
        const action = { headers, raw }
        this.actions.push(action)
        this.respond(action, sock)
      }
    })
  }

  private respond (action: FakeAction, sock: net.Socket): void {
    if (this.opts.handler?.(action, sock, this) === true) return
    const id = action.headers.actionid ?? ''
    const name = (action.headers.action ?? '').toLowerCase()
    if (name === 'login') {
      if (this.opts.rejectLogin !== undefined) {
        sock.write(`Response: Error\r\nActionID: ${id}\r\nMessage: ${this.opts.rejectLogin}\r\n\r\n`)
        return
      }
      sock.write(`Response: Success\r\nActionID: ${id}\r\nMessage: Authentication accepted\r\n\r\n`)
      if (this.opts.fullyBooted !== false) sock.write('Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n')
      return
    }
    if (name === 'ping') { sock.write(`Response: Success\r\nActionID: ${id}\r\nPing: Pong\r\nTimestamp: 1.0\r\n\r\n`); return }
    if (name === 'logoff') { sock.end(`Response: Goodbye\r\nActionID: ${id}\r\nMessage: Thanks for all the fish.\r\n\r\n`); return }
    sock.write(`Response: Success\r\nActionID: ${id}\r\nMessage: ok\r\n\r\n`)
  }

  /** Writes raw bytes to every connected client. */
  send (raw: string): void { for (const s of this.sockets) s.write(raw) }

  /** Writes raw bytes one chunk at a time with a pause between, to split messages. */
  async sendChunked (raw: string, size: number, gapMs = 1): Promise<void> {
    for (let i = 0; i < raw.length; i += size) {
      this.send(raw.slice(i, i + size))
      await new Promise(resolve => setTimeout(resolve, gapMs))
    }
  }

  /**
   * Writes `pattern` to `sock` again and again until `totalBytes` went out or the client
   * closed, respecting back-pressure (the flood costs this side one pattern buffer, not
   * `totalBytes`). Resolves with the bytes handed to the socket.
   */
  async flood (sock: net.Socket, pattern: Buffer, totalBytes: number): Promise<number> {
    let sent = 0
    while (sent < totalBytes && !sock.destroyed && sock.writable) {
      const piece = totalBytes - sent >= pattern.length ? pattern : pattern.subarray(0, totalBytes - sent)
      sent += piece.length
      if (!sock.write(piece)) {
        await new Promise<void>(resolve => {
          const done = (): void => { sock.off('drain', done); sock.off('close', done); resolve() }
          sock.once('drain', done)
          sock.once('close', done)
        })
      }
    }
    return sent
  }

  /** Drops every client connection at once (RST), as a crashed peer would. */
  dropAll (): void { for (const s of this.sockets) s.destroy() }

  actionsNamed (name: string): FakeAction[] {
    return this.actions.filter(a => (a.headers.action ?? '').toLowerCase() === name.toLowerCase())
  }

  async stop (): Promise<void> {
    this.dropAll()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }
}

export interface MemberPause { paused: boolean, reason: string }

/**
 * What to do with one QueuePause: refuse it (Response: Error with this message), or
 * apply it and then change the member again (`then`: someone else's pause or unpause),
 * whose QueueMemberPause goes out in the same socket write as the first.
 */
export interface PauseDecision { refuse?: string, then?: MemberPause }

/**
 * app_queue's member pause state for a FakeAmi: answers QueuePause (the response and
 * its QueueMemberPause in ONE socket write, so the client sees them in one TCP chunk),
 * QueueStatus with the members' pause state, and CoreShowChannels with no channels,
 * so a reconnecting service resyncs the pause picture as it would from Asterisk.
 */
export class FakeQueue {
  readonly members = new Map<string, MemberPause>()
  /** Asked before each QueuePause is applied; see PauseDecision. */
  decide: (iface: string, paused: boolean, reason: string) => PauseDecision | undefined = () => undefined

  constructor (interfaces: readonly string[], readonly queue = 'pln123') {
    for (const i of interfaces) this.members.set(i, { paused: false, reason: '' })
  }

  /** A QueueMemberPause event as app_queue writes it. */
  pauseEvent (iface: string, paused: boolean, reason = ''): string {
    return `Event: QueueMemberPause\r\nQueue: ${this.queue}\r\nInterface: ${iface}\r\nMemberName: ${iface}\r\nStateInterface: ${iface}\r\nStatus: 1\r\nPaused: ${paused ? 1 : 0}\r\nPausedReason: ${paused ? reason : ''}\r\n\r\n`
  }

  readonly handler: Handler = (a, sock) => {
    const h = a.headers
    const id = h.actionid ?? ''
    const name = (h.action ?? '').toLowerCase()
    if (name === 'queuepause') {
      const iface = h.interface ?? ''
      const paused = /^(1|true|yes)$/i.test(h.paused ?? '')
      const reason = paused ? h.reason ?? '' : ''
      const d = this.decide(iface, paused, reason) ?? {}
      if (d.refuse !== undefined) { sock.write(`Response: Error\r\nActionID: ${id}\r\nMessage: ${d.refuse}\r\n\r\n`); return true }
      if (!this.members.has(iface)) { sock.write(`Response: Error\r\nActionID: ${id}\r\nMessage: Interface not found\r\n\r\n`); return true }
      this.members.set(iface, d.then ?? { paused, reason })
      const then = d.then !== undefined ? this.pauseEvent(iface, d.then.paused, d.then.reason) : ''
      sock.write(`Response: Success\r\nActionID: ${id}\r\nMessage: Interface paused successfully\r\n\r\n${this.pauseEvent(iface, paused, reason)}${then}`)
      return true
    }
    if (name === 'queuestatus') {
      const items = [...this.members].map(([iface, m]) => `Event: QueueMember\r\nActionID: ${id}\r\nQueue: ${this.queue}\r\nName: ${iface}\r\nLocation: ${iface}\r\nStateInterface: ${iface}\r\nStatus: 1\r\nPaused: ${m.paused ? 1 : 0}\r\nPausedReason: ${m.reason}\r\nInCall: 0\r\n\r\n`)
      sock.write(`Response: Success\r\nActionID: ${id}\r\nEventList: start\r\nMessage: Queue status will follow\r\n\r\n${items.join('')}Event: QueueStatusComplete\r\nActionID: ${id}\r\nEventList: Complete\r\nListItems: ${items.length}\r\n\r\n`)
      return true
    }
    if (name === 'coreshowchannels') {
      sock.write(`Response: Success\r\nActionID: ${id}\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\nEvent: CoreShowChannelsComplete\r\nActionID: ${id}\r\nEventList: Complete\r\nListItems: 0\r\n\r\n`)
      return true
    }
    return false
  }
}
