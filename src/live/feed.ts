// The live feed behind GET /v1/events (SSE): agent and call changes, APKT outbox and
// AMI state, as small versioned messages. Producers publish; each subscriber gets
// every message after it subscribed. No Fastify here: the route adapts it to SSE.
import { EventEmitter } from 'node:events'

/** The feed's message types, the SSE event names (the route's documentation lists these). 'pause': a pause past its reason's maxMinutes ({ agentId, reason, since, overMax: true }). */
export const LIVE_TYPES = ['agent', 'call', 'apkt', 'ami', 'wrapup', 'pause'] as const
export type LiveType = typeof LIVE_TYPES[number]

export interface LiveMessage {
  /** increases by one per message, for the SSE id and gap detection */
  seq: number
  type: LiveType
  at: string
  data: unknown
}

export class LiveFeed {
  private readonly emitter = new EventEmitter<{ message: [LiveMessage] }>()
  private seq = 0

  constructor () { this.emitter.setMaxListeners(0) }

  publish (type: LiveType, data: unknown): void {
    const msg: LiveMessage = { seq: ++this.seq, type, at: new Date().toISOString(), data }
    this.emitter.emit('message', msg)
  }

  subscribe (listener: (m: LiveMessage) => void): () => void {
    this.emitter.on('message', listener)
    return () => { this.emitter.off('message', listener) }
  }
}
