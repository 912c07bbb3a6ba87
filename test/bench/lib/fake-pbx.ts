// A fake Asterisk for benchmarks: answers the actions the service sends at once, as a
// PBX with nothing else to do would, and can stream events with back-pressure.
//   Login, Ping, Logoff             as Asterisk does
//   CoreShowChannels, QueueStatus   empty lists (the resync after login)
//   BlindTransfer                   Response: Success, then a BlindTransfer event
//                                   (Result: Success) for the channel, same write
//   QueuePause                      Response: Success, then QueueMemberPause for
//                                   the interface with the requested state
//   anything else                   Response: Success
import net from 'node:net'

export interface FakePbxOptions {
  /** called with each action's name and headers (lower-cased keys) as it arrives */
  onAction?: (name: string, headers: Record<string, string>) => void
}

export class FakePbx {
  readonly server: net.Server
  readonly sockets = new Set<net.Socket>()
  readonly counts = new Map<string, number>()
  private readonly opts: FakePbxOptions

  private constructor (opts: FakePbxOptions) {
    this.opts = opts
    this.server = net.createServer(sock => this.accept(sock))
  }

  static async start (opts: FakePbxOptions = {}): Promise<FakePbx> {
    const f = new FakePbx(opts)
    await new Promise<void>(resolve => f.server.listen(0, '127.0.0.1', () => resolve()))
    return f
  }

  get port (): number { return (this.server.address() as net.AddressInfo).port }

  count (name: string): number { return this.counts.get(name.toLowerCase()) ?? 0 }

  private accept (sock: net.Socket): void {
    this.sockets.add(sock)
    sock.setNoDelay(true)
    sock.on('close', () => this.sockets.delete(sock))
    sock.on('error', () => {})
    sock.setEncoding('utf8')
    sock.write('Asterisk Call Manager/11.0.0\r\n')
    let buf = ''
    sock.on('data', (d: string) => {
      buf += d
      let idx: number
      let out = ''
      while ((idx = buf.indexOf('\r\n\r\n')) >= 0) {
        const raw = buf.slice(0, idx)
        buf = buf.slice(idx + 4)
        const h: Record<string, string> = {}
        for (const line of raw.split('\r\n')) {
          const i = line.indexOf(':')
          if (i > 0) h[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
        }
        out += this.answer(h, sock)
      }
      if (out !== '') sock.write(out)
    })
  }

  private answer (h: Record<string, string>, sock: net.Socket): string {
    const name = (h.action ?? '').toLowerCase()
    const id = h.actionid ?? ''
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1)
    this.opts.onAction?.(name, h)
    const ok = `Response: Success\r\nActionID: ${id}\r\nMessage: ok\r\n\r\n`
    switch (name) {
      case 'login':
        return `Response: Success\r\nActionID: ${id}\r\nMessage: Authentication accepted\r\n\r\nEvent: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n`
      case 'logoff':
        sock.end(`Response: Goodbye\r\nActionID: ${id}\r\nMessage: Thanks for all the fish.\r\n\r\n`)
        return ''
      case 'ping':
        return `Response: Success\r\nActionID: ${id}\r\nPing: Pong\r\nTimestamp: 1.0\r\n\r\n`
      case 'coreshowchannels':
        return `Response: Success\r\nActionID: ${id}\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n` +
          `Event: CoreShowChannelsComplete\r\nActionID: ${id}\r\nEventList: Complete\r\nListItems: 0\r\n\r\n`
      case 'queuestatus':
        return `Response: Success\r\nActionID: ${id}\r\nEventList: start\r\nMessage: Queue status will follow\r\n\r\n` +
          `Event: QueueStatusComplete\r\nActionID: ${id}\r\nEventList: Complete\r\nListItems: 0\r\n\r\n`
      case 'blindtransfer':
        return ok + 'Event: BlindTransfer\r\nPrivilege: call,all\r\nResult: Success\r\n' +
          `TransfererChannel: ${h.channel ?? ''}\r\nTransfereeChannel: \r\nIsExternal: Yes\r\nContext: ${h.context ?? ''}\r\nExtension: ${h.exten ?? ''}\r\n\r\n`
      case 'queuepause': {
        const paused = /^(1|yes|true|on)$/i.test(h.paused ?? '')
        return ok + `Event: QueueMemberPause\r\nPrivilege: agent,all\r\nQueue: pln123\r\nInterface: ${h.interface ?? ''}\r\nStateInterface: ${h.interface ?? ''}\r\n` +
          `Status: 1\r\nPaused: ${paused ? 1 : 0}\r\nPausedReason: ${paused ? (h.reason ?? '') : ''}\r\nInCall: 0\r\n\r\n`
      }
      default:
        return ok
    }
  }

  /** Writes raw AMI text to every connected client. */
  send (raw: string): void { for (const s of this.sockets) s.write(raw) }

  /** Writes a large payload to every client with back-pressure; resolves once handed to the kernel. */
  async stream (payload: Buffer): Promise<void> {
    await Promise.all([...this.sockets].map(async sock => {
      const CHUNK = 64 * 1024
      for (let off = 0; off < payload.length; off += CHUNK) {
        if (!sock.write(payload.subarray(off, Math.min(payload.length, off + CHUNK)))) {
          await new Promise<void>(resolve => sock.once('drain', () => resolve()))
        }
      }
    }))
  }

  async stop (): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }
}
