// GET /v1/events: Server-Sent Events for supervisors' dashboards. A snapshot first
// (so a client that reconnects needs nothing else), then every change as it happens,
// and a comment line every 15 s so proxies keep the stream open. Browsers read it
// with fetch() and the Authorization header: tokens never go into URLs.
// A stream costs memory for what it has not sent yet, so a dashboard that stops
// reading (a frozen tab, a stalled proxy) is dropped once that passes maxBufferBytes
// (the browser's EventSource-style client reconnects and gets a fresh snapshot), and
// streams are capped per token and in all: 429 TOO_MANY_STREAMS past either.
import type { ServerResponse } from 'node:http'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { LIVE_TYPES, type LiveFeed, type LiveMessage } from '../live/feed.ts'
import type { Config } from '../config/schema.ts'
import { Errors } from '../errors.ts'
import { presentedDigest } from './auth.ts'
import { ErrorBody, NoQuery } from './schemas.ts'

export interface EventsRouteDeps {
  feed: LiveFeed
  snapshot: () => Promise<unknown>
}

export type EventsLimits = Config['http']['events']

const frame = (m: LiveMessage): string => `id: ${m.seq}\nevent: ${m.type}\ndata: ${JSON.stringify(m.data)}\n\n`

export const eventsRoutes: FastifyPluginAsyncTypebox<EventsRouteDeps & { limits: EventsLimits }> = async (app, deps) => {
  const { maxBufferBytes, maxStreamsPerToken, maxStreams } = deps.limits
  const open = new Set<() => void>()
  const perToken = new Map<string, number>()
  // Every open stream is handed the same message: serialise it once, not once per dashboard.
  let last: LiveMessage | undefined
  let lastFrame = ''
  const frameOf = (m: LiveMessage): string => {
    if (m !== last) { last = m; lastFrame = frame(m) }
    return lastFrame
  }
  // Streams never finish by themselves: end them before the server waits for requests.
  app.addHook('preClose', async () => { for (const end of [...open]) end() })

  app.get('/v1/events', {
    config: { auth: { roles: ['supervisor'] } },
    // A HEAD would open a stream that sends nothing and never ends.
    exposeHeadRoute: false,
    schema: {
      summary: 'Server-Sent Events: a snapshot, then agent, call, wrap-up, APKT and AMI changes',
      description: `text/event-stream. Events: snapshot, ${LIVE_TYPES.join(', ')}. Send the bearer token in the Authorization header. At most ${maxStreamsPerToken} streams per token and ${maxStreams} in all (429 TOO_MANY_STREAMS past either); a stream whose client stops reading is closed once ${maxBufferBytes} bytes wait unsent.`,
      tags: ['supervisor'],
      querystring: NoQuery,
      response: { 200: { type: 'string', description: 'text/event-stream' }, 401: ErrorBody, 403: ErrorBody, 429: ErrorBody }
    }
  }, async (req, reply) => {
    // Authentication ran, so a digest is there; the key is the token, not its holder's name.
    const key = presentedDigest(req) ?? req.ip
    const mine = perToken.get(key) ?? 0
    if (mine >= maxStreamsPerToken) throw new Errors.TooManyStreams(`this token already has ${mine} event streams open (at most ${maxStreamsPerToken}); close one first`)
    if (open.size >= maxStreams) throw new Errors.TooManyStreams(`the service already serves ${open.size} event streams (at most ${maxStreams}); try again later`)
    perToken.set(key, mine + 1)

    reply.hijack()
    const res = reply.raw
    let ended = false
    const end = (): void => {
      if (ended) return
      ended = true
      clearInterval(beat)
      unsubscribe()
      open.delete(end)
      const n = (perToken.get(key) ?? 1) - 1
      if (n > 0) perToken.set(key, n); else perToken.delete(key)
      if (!res.writableEnded) res.end()
    }
    // res.write() answering false only says "buffering now"; what matters is how much
    // waits. Past the bound the client is not keeping up: destroy (end() would queue
    // behind the unsent bytes and hold them), and the buffer is freed with the socket.
    const send = (text: string): void => {
      if (ended) return
      res.write(text)
      if (res.writableLength > maxBufferBytes) drop(res, res.writableLength)
    }
    const drop = (r: ServerResponse, buffered: number): void => {
      req.log.warn({ sse: { bufferedBytes: buffered, maxBufferBytes, client: req.principal?.name } }, 'event stream dropped: the client is not reading')
      end()
      r.destroy()
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no'
    })
    // Subscribed before the snapshot is read (its APKT counts come from the store): what
    // changes meanwhile is held and sent after it, so nothing falls between the two.
    let held: string[] | undefined = []
    const unsubscribe = deps.feed.subscribe(m => { if (held !== undefined) held.push(frameOf(m)); else send(frameOf(m)) })
    const beat = setInterval(() => { send(': keepalive\n\n') }, 15_000)
    open.add(end)
    req.raw.once('close', end)
    let snapshot: unknown
    try {
      snapshot = await deps.snapshot()
    } catch (err) {
      req.log.error({ err }, 'event stream: snapshot not read')
      end()
      return
    }
    send(`retry: 2000\nevent: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`)
    const backlog = held
    held = undefined
    for (const frame of backlog) send(frame)
  })
}
