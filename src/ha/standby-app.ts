// The HTTP face of a standby instance of an HA group (CONTRACT.md section 6): it
// forwards every request to the active and passes its answer back, so that any
// instance serves every route.
//
// Why forward rather than do the work here under the database's locks: a standby must
// not act on the PBX (only the lease holder sends AMI actions, fenced by its epoch), and
// most writes end in an AMI action (the transfer button, pauses, ACW); with one code
// path doing the work, a write sent to a standby has the same effect and the same
// answer as on the active by construction, with nothing to keep in step. The same
// holds for GET /v1/events: every change happens on the active, so its stream,
// forwarded, carries the whole group's changes; when the active goes, the stream ends
// and the client reconnects (SSE clients do), through here or to the new active.
//
//  - GET /healthz: 200, the process lives;
//  - GET /readyz (public): 200 { status: "ready", role: "standby" } while an active is
//    known, else 503 { status: "no-active" }: never a URL, host or user;
//  - GET /v1/status (supervisor): the group as the lease table tells it, and the
//    active's URL;
//  - anything else: forwarded with method, path, query, headers and body unchanged
//    (the active authenticates it), the answer streamed back unchanged plus
//    x-cti-via: <this instance>. Never retried: a POST reaches the active at most once.
//    No active known, or it cannot be reached: 503 NO_ACTIVE, Retry-After: 1; no answer
//    in time: 503 ACTIVE_TIMEOUT (the request may have been done).
import { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import replyFrom from '@fastify/reply-from'
import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import type { Config } from '../config/schema.ts'
import { buildHandOverApp, releasePort } from '../http/port-handover.ts'
import { storeConfigOf, storeWhere } from '../store/open.ts'
import type { StandbyDeps } from './group-status.ts'

export interface StandbyApp {
  app: FastifyInstance
  /**
   * Closes the app for the full one (this instance became active): ends the event
   * streams it forwards (their clients reconnect, to this instance now active), and
   * resolves as soon as the port is free; `closed` settles once the requests in flight
   * are answered and the app is closed.
   */
  release: () => Promise<{ closed: Promise<void> }>
}

/** Marks a request forwarded once: a standby never forwards it again (two standbys that each think the other active would bounce it forever). */
export const FORWARDED_BY = 'x-cti-forwarded-by'
/** On every forwarded answer: which instance forwarded it (for operators). */
export const VIA = 'x-cti-via'

/**
 * How long the active may take to start answering. Its slowest legitimate answer is the
 * transfer button: the press recorded (a store write, bounded by the store's statement
 * timeout, 5 s), BlindTransfer answered and its result confirmed (up to
 * ami.actionTimeoutMs each), the outcome recorded.
 */
export function forwardTimeoutMs (config: Config): number {
  return 2 * config.ami.actionTimeoutMs + 10_000
}

// The active sends an SSE keepalive every 15 s (src/http/events-routes.ts): three missed
// mean it froze, and the stream is ended so that its client reconnects.
const STREAM_SILENCE_MS = 45_000
// A LAN hop: an active that does not accept within this is as good as gone.
const CONNECT_TIMEOUT_MS = 2_000
// How often forwarded event streams are checked against the active known now.
const STREAM_CHECK_MS = 1_000

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'http2-settings'])

// Failures that happen before a request is sent: nothing reached the active.
// (undici's own refusals of a request, UND_ERR_NOT_SUPPORTED and UND_ERR_INVALID_ARG, too.)
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_NOT_SUPPORTED', 'UND_ERR_INVALID_ARG'])
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'FST_REPLY_FROM_GATEWAY_TIMEOUT', 'FST_REPLY_FROM_TIMEOUT'])
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS'])

/** The codes along an error's cause chain (reply-from wraps undici's). */
function codesOf (err: unknown): string[] {
  const out: string[] = []
  for (let e = err as { code?: unknown, cause?: unknown } | undefined, i = 0; e !== undefined && e !== null && i < 5; e = e.cause as typeof e, i++) {
    if (typeof e.code === 'string') out.push(e.code)
  }
  return out
}

interface ForwardedStream { target: string, stream: Readable }

export async function buildStandbyApp (config: Config, deps: StandbyDeps, logger?: FastifyBaseLogger, tuning: { timeoutMs?: number } = {}): Promise<StandbyApp> {
  const timeoutMs = tuning.timeoutMs ?? forwardTimeoutMs(config)
  // Gives its port to the full app later (src/http/port-handover.ts): no keep-alive.
  const app = await buildHandOverApp(config, logger)
  await app.register(replyFrom, {
    undici: { headersTimeout: timeoutMs, bodyTimeout: STREAM_SILENCE_MS, connect: { timeout: CONNECT_TIMEOUT_MS } },
    // The agent's sockets go with the app (they would keep a closed app's process alive).
    destroyAgent: true,
    disableCache: true,
    disableRequestLogging: true
  })
  // Bodies are not parsed: each is passed on as it comes (the active parses it, checks
  // its size against the same bodyLimit, and answers 400/413/415 as it would directly).
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, payload, done) => { done(null, payload) })

  app.get('/healthz', { config: { auth: 'public' } }, async () => ({ status: 'ok' as const }))

  app.get('/readyz', { config: { auth: 'public' } }, async (_req, reply) => {
    if (deps.activeUrl() !== undefined) return { status: 'ready' as const, role: 'standby' as const, checks: { active: 'ok' as const } }
    return await reply.code(503).header('retry-after', 1).send({
      error: 'NOT_READY',
      status: 'no-active',
      role: 'standby',
      message: 'not ready: this standby knows of no active instance of the group to forward to',
      checks: { active: 'unknown' }
    })
  })

  app.get('/v1/status', { config: { auth: { roles: ['supervisor'] } } }, async () => {
    const group = await deps.group()
    const url = deps.activeUrl()
    return {
      role: 'standby' as const,
      instanceId: deps.instanceId,
      // A standby holds no AMI session: only the lease holder talks to Asterisk.
      ami: { ok: false, state: 'standby: no AMI session (the active has it)', host: config.ami.host, port: config.ami.port, user: config.ami.username },
      store: { kind: config.store.kind, where: storeWhere(storeConfigOf(config.store)) },
      lease: { holder: group.leaseHolder, expiresAt: group.leaseExpiresAt },
      active: url !== undefined ? { known: true, url } : { known: false },
      forwarding: { timeoutMs, openStreams: streams.size },
      instances: group.instances
    }
  })

  const noActive = async (reply: FastifyReply, message = 'no active instance of the group answers now; try again in a moment'): Promise<FastifyReply> =>
    await reply.code(503).header('retry-after', 1).send({ error: 'NO_ACTIVE', message })

  // Event streams forwarded now, each with the active it comes from: ended when another
  // active is known (the old one froze or lost its lease) or at release().
  const streams = new Set<ForwardedStream>()
  let watch: ReturnType<typeof setInterval> | undefined
  const endStream = (s: ForwardedStream): void => { streams.delete(s); s.stream.destroy() }
  const track = (s: ForwardedStream): void => {
    streams.add(s)
    s.stream.once('close', () => { streams.delete(s) })
    watch ??= setInterval(() => {
      const now = deps.activeUrl()
      for (const o of streams) if (o.target !== now) endStream(o)
      if (streams.size === 0) { clearInterval(watch); watch = undefined }
    }, STREAM_CHECK_MS)
    watch.unref()
  }

  const forward = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    void reply.header(VIA, deps.instanceId)
    if (req.headers[FORWARDED_BY] !== undefined) return await noActive(reply, 'no active instance of the group answers here: the request was already forwarded once by another instance; try again in a moment')
    const target = deps.activeUrl()
    if (target === undefined) return await noActive(reply)
    return reply.from(target.replace(/\/+$/, '') + req.url, {
      // Never again, whatever the method: a POST that may have reached the active must
      // not reach it twice (the transfer button), and a 503 from the active (its store
      // unavailable) is its answer, passed back, not a reason to ask again.
      retryDelay: () => null,
      rewriteRequestHeaders: (r, headers: IncomingHttpHeaders) => {
        const prior = headers['x-forwarded-for']
        // Hop-by-hop headers are this connection's, not the request's (and undici refuses
        // to send them); Expect: 100-continue (curl's, for bodies over 1 KB) was answered
        // by this server already.
        const out: IncomingHttpHeaders = {}
        for (const [k, v] of Object.entries(headers)) if (!HOP_BY_HOP.has(k) && k !== 'expect') out[k] = v
        return { ...out, [FORWARDED_BY]: deps.instanceId, 'x-forwarded-for': prior !== undefined ? `${String(prior)}, ${r.ip}` : r.ip }
      },
      rewriteHeaders: (headers: IncomingHttpHeaders) => {
        const out: IncomingHttpHeaders = {}
        for (const [k, v] of Object.entries(headers)) if (!HOP_BY_HOP.has(k)) out[k] = v
        return out
      },
      onResponse: (_req, _r, res) => {
        // reply-from's types describe its http client; with undici (its default, used
        // here) res is { statusCode, headers, stream }.
        const { stream, headers } = res as unknown as { stream: Readable, headers: IncomingHttpHeaders }
        if (String(headers['content-type'] ?? '').startsWith('text/event-stream')) track({ target, stream })
        void reply.send(stream)
      },
      // (reply-from's reply argument is this very reply.)
      onError: (_r, { error }) => {
        const codes = codesOf(error)
        if (codes.some(c => TIMEOUTS.has(c))) {
          req.log.warn({ err: error, active: target, timeoutMs }, 'forward: the active did not answer in time')
          void reply.code(503).header('retry-after', 1).send({
            error: 'ACTIVE_TIMEOUT',
            message: `the active instance of the group did not answer within ${timeoutMs} ms; the request may have been done: check before trying again`
          })
          return
        }
        req.log.warn({ err: error, active: target, codes }, 'forward: the active cannot be reached')
        // A connection lost after the request went out: a write may have been done.
        const maybeDone = !IDEMPOTENT.has(req.method) && !codes.some(c => NOT_SENT.has(c))
        void noActive(reply, maybeDone
          ? 'no active instance of the group answers now (the connection to it was lost: the request may have reached it; check before trying again)'
          : undefined)
      }
    })
  }
  app.all('/*', { config: { auth: 'public' } }, forward)
  app.all('/', { config: { auth: 'public' } }, forward)

  // Before the server closes: an open stream would hold its close forever.
  app.addHook('preClose', async () => {
    if (watch !== undefined) clearInterval(watch)
    for (const s of [...streams]) endStream(s)
  })

  return {
    app,
    async release () {
      if (watch !== undefined) { clearInterval(watch); watch = undefined }
      for (const s of [...streams]) endStream(s)
      // Requests in flight are waited for (a press on its way to the old active).
      return await releasePort(app, timeoutMs + 1000)
    }
  }
}
