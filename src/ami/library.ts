// asterisk-manager 0.2.0 connects, logs in and writes actions for the adapter; reading
// is taken away from it, and everything tied to its internals is in this file. Two of
// its habits were unsafe with whatever arrives on the socket:
//  - it re-emits every event on its own EventEmitter under the event's lower-cased name,
//    and every response under its ActionID, beside the names it uses itself ('rawevent'
//    is its parse hook: an `Event: RawEvent` re-entered the parser through
//    process.nextTick forever and no timer fired again; `ActionID: rawevent` threw).
//    Here nothing from the peer is used as a name: events go to one callback, responses
//    only to ActionIDs the adapter issued;
//  - its reader buffers a line or message without an end without limit, in time
//    quadratic in the lines held. reader.ts reads instead, linearly, with a size limit.
import diagnostics from 'node:diagnostics_channel'
import type net from 'node:net'
import type AsteriskManager from 'asterisk-manager'
import { AmiReader, type RawMessage } from './reader.ts'

type Manager = ReturnType<typeof AsteriskManager>

export interface Reading {
  /** Longest message, in characters of the decoded text (never more than the bytes received). */
  maxChars: number
  /** An event (a message with an Event header), synchronously and in order. */
  event: (raw: RawMessage) => void
  /** Whether `id` is an ActionID the adapter sent and still waits for. */
  isOurs: (id: string) => boolean
  /** A message passed maxChars: nothing more is read from `sock`. */
  overflow: (chars: number) => void
}

/**
 * Runs `open`, which must create one TCP connection synchronously (the library's
 * connect does), and returns that socket: the library keeps it to itself.
 */
export function captureSocket (open: () => void): net.Socket {
  let sock: net.Socket | undefined
  const onSocket = (message: unknown): void => { sock ??= (message as { socket: net.Socket }).socket }
  diagnostics.subscribe('net.client.socket', onSocket)
  try { open() } finally { diagnostics.unsubscribe('net.client.socket', onSocket) }
  if (sock === undefined) throw new Error('asterisk-manager is not the 0.2.x the AMI adapter was written for: connect opened no socket')
  return sock
}

/**
 * Replaces the library's reader on `sock` and its dispatch ('rawevent' listener) with
 * an AmiReader. Responses reach the library's action callbacks, in its form (error or
 * undefined, message), only under ActionIDs we issued.
 */
export function takeOverReading (mgr: Manager, sock: net.Socket, r: Reading): void {
  const readers = sock.listeners('data')
  if (readers.length !== 1 || mgr.listeners('rawevent').length !== 1) {
    throw new Error('asterisk-manager is not the 0.2.x the AMI adapter was written for: no single socket reader and "rawevent" listener')
  }
  sock.removeAllListeners('data')
  mgr.removeAllListeners('rawevent')
  const reader = new AmiReader(r.maxChars, raw => {
    const id = raw.actionid
    const response = raw.response
    if (typeof response === 'string' && typeof id === 'string' && r.isOurs(id)) {
      mgr.emit(id, response.toLowerCase() === 'error' ? raw : undefined, raw)
    }
    // As the library did: a repeated Event header counts by its first value.
    if (Array.isArray(raw.event)) raw.event = String(raw.event[0])
    if (typeof raw.event === 'string' && raw.event !== '') r.event(raw)
  }, r.overflow)
  sock.on('data', (chunk: string | Buffer) => { reader.push(typeof chunk === 'string' ? chunk : String(chunk)) })
}
