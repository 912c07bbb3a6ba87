// GET /v1/events: Server-Sent Events for supervisors' dashboards. A snapshot first
// (so a client that reconnects needs nothing else), then every change as it happens,
// and a comment line every 15 s so proxies keep the stream open. Browsers read it
// with fetch() and the Authorization header: tokens never go into URLs.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { LiveFeed, LiveMessage } from '../live/feed.ts'
import { ErrorBody, NoQuery } from './schemas.ts'

export interface EventsRouteDeps {
  feed: LiveFeed
  snapshot: () => unknown
}

const frame = (m: LiveMessage): string => `id: ${m.seq}\nevent: ${m.type}\ndata: ${JSON.stringify(m.data)}\n\n`

export const eventsRoutes: FastifyPluginAsyncTypebox<EventsRouteDeps> = async (app, deps) => {
  const open = new Set<() => void>()
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
      summary: 'Server-Sent Events: a snapshot, then agent, call, APKT and AMI changes',
      description: 'text/event-stream. Events: snapshot, agent, call, apkt, ami. Send the bearer token in the Authorization header.',
      tags: ['supervisor'],
      querystring: NoQuery,
      response: { 200: { type: 'string', description: 'text/event-stream' }, 401: ErrorBody, 403: ErrorBody }
    }
  }, async (req, reply) => {
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no'
    })
    res.write(`retry: 2000\nevent: snapshot\ndata: ${JSON.stringify(deps.snapshot())}\n\n`)
    const unsubscribe = deps.feed.subscribe(m => { res.write(frameOf(m)) })
    const beat = setInterval(() => { res.write(': keepalive\n\n') }, 15_000)
    const end = (): void => { clearInterval(beat); unsubscribe(); open.delete(end); if (!res.writableEnded) res.end() }
    open.add(end)
    req.raw.once('close', end)
  })
}
