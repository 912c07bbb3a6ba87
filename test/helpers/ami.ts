// Builds AmiClients for tests with short timeouts and a logger that records lines.
import { AmiClient, type AmiClientOptions } from '../../src/ami/index.ts'
import type { Log } from '../../src/log.ts'

export interface LogLine { level: string, obj: unknown, msg: string | undefined }

export class RecordingLog implements Log {
  lines: LogLine[] = []
  private rec (level: string) { return (obj: object | string, msg?: string) => { this.lines.push({ level, obj, msg: typeof obj === 'string' ? obj : msg }) } }
  trace = this.rec('trace')
  debug = this.rec('debug')
  info = this.rec('info')
  warn = this.rec('warn')
  error = this.rec('error')
  at (level: string): LogLine[] { return this.lines.filter(l => l.level === level) }
}

/**
 * Every event name asterisk-manager 0.2.0 (lib/ami.js) listens to or emits itself, the
 * EventEmitter's own, the socket's, and names on Object.prototype: names an AMI event or
 * ActionID from the peer must never reach.
 */
export const INTERNAL_NAMES = ['RawEvent', 'ManagerEvent', 'Response', 'Asterisk', 'Connect', 'Close', 'End', 'Error', 'Data',
  'Drain', 'Timeout', 'Ready', 'Lookup', 'newListener', 'removeListener', '__proto__', 'constructor', 'hasOwnProperty', 'toString']

export function makeClient (port: number, over: Partial<AmiClientOptions> = {}): { client: AmiClient, log: RecordingLog } {
  const log = new RecordingLog()
  const client = new AmiClient({
    host: '127.0.0.1',
    port,
    username: 'cti',
    secret: 'secret',
    actionTimeoutMs: 2000,
    connectTimeoutMs: 2000,
    pingIntervalMs: 60_000,
    reconnect: { initialMs: 50, maxMs: 400 },
    logger: log,
    ...over
  })
  return { client, log }
}

export async function waitFor<T> (what: string, fn: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = fn()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

export function once<T extends unknown[]> (client: AmiClient, name: 'connected' | 'disconnected'): Promise<T> {
  return new Promise(resolve => client.once(name, (...args: unknown[]) => resolve(args as T)))
}

/** Polls an async check until it returns a value (not undefined/false), or fails with `what`. */
export async function eventually<T> (what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}
