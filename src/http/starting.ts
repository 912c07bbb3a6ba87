// The HTTP face of a service whose store is not open yet (a PostgreSQL server down,
// refusing or frozen when the service starts; src/store/open.ts waits for it). Before
// this, nothing listened until the database answered: a load balancer saw a dead port,
// /readyz did not answer at all, and an operator could not ask the service why.
//
// Why a small app of its own rather than the full one with its store missing: every
// route of the full app is built on the store (the tracker loads from it, ACW recovers
// from it), so it cannot exist before the store does, and a half-built full app would
// have to guard each route. This one holds nothing but the wait, answers from memory,
// and is closed the moment the full app is ready to take the port (server.ts). The two
// share the port, not a socket (Node 20 has no SO_REUSEPORT): the port is closed for
// the time the full app takes to bind it (a few milliseconds); release() accepts what
// is queued, then stops accepting without dropping what was accepted (see
// src/http/port-handover.ts, shared with the standby app).
//
//  - GET /healthz: 200, the process lives;
//  - GET /readyz (public): 503 { status: "starting", role, checks } with the reason in
//    words (src/store/why.ts): never a host, user, URL or driver text;
//  - GET /v1/status (supervisor, as in the full app: tokens come from the config): the
//    wait, its tries, the next one, and the driver's words;
//  - anything else: 503 STORE_UNAVAILABLE naming the reason, before its body is read.
//    The API (/v1/..., /metrics) still needs a known token, as it will in the full app
//    (401 without one); the role of each route is the full app's to check, since here
//    none of them does anything. The pages (/, /agent, /ui/, /docs) are public there,
//    so they are here.
import { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify'
import { ROLES, type Config } from '../config/schema.ts'
import type { StoreKind } from '../store/port.ts'
import { whyStoreUnavailable } from '../store/why.ts'
import { buildHandOverApp, releasePort } from './port-handover.ts'

export interface StartingTarget {
  ami: { host: string, port: number, user: string }
  store: { kind: StoreKind, where: string }
}

export interface StartingApp {
  app: FastifyInstance
  /** StoreWait.onRetry: each failed try to open the store. */
  onRetry: (err: unknown, attempt: number, retryInMs: number) => void
  /** The reason the store is not open, in words (what /readyz and the 503s say). */
  reason: () => string
  /**
   * Closes the app for the full one: resolves as soon as the port is free, without
   * waiting for its last answers to be sent (`closed` settles once they are), so that
   * the port stays closed for no longer than the full app takes to bind it.
   */
  release: () => Promise<{ closed: Promise<void> }>
}

interface Wait { since: Date, attempts: number, lastError?: unknown, failedAt?: Date, nextTryAt?: Date }

export async function buildStartingApp (config: Config, target: StartingTarget, instanceId: string, logger?: FastifyBaseLogger): Promise<StartingApp> {
  const wait: Wait = { since: new Date(), attempts: 0 }
  const reason = (): string => wait.lastError === undefined ? 'it is being opened' : (whyStoreUnavailable(wait.lastError) ?? 'it is unavailable')
  const retryAfterS = (): number => Math.max(1, Math.ceil(((wait.nextTryAt?.getTime() ?? Date.now()) - Date.now()) / 1000))

  // Gives its port to the full app later (src/http/port-handover.ts): no keep-alive.
  const app = await buildHandOverApp(config, logger)

  app.get('/healthz', { config: { auth: 'public' } }, async () => ({ status: 'ok' as const }))

  app.get('/readyz', { config: { auth: 'public' } }, async (_req, reply) => {
    const why = reason()
    return reply.code(503).header('retry-after', retryAfterS()).send({
      error: 'NOT_READY',
      status: 'starting',
      role: 'single',
      message: `not ready: starting, the store is not open yet (${why})`,
      // AMI is connected once the store is open: not yet.
      checks: { ami: { ok: false }, store: { ok: false, reason: why } }
    })
  })

  app.get('/v1/status', { config: { auth: { roles: ['supervisor'] } } }, async () => {
    const err = wait.lastError as { code?: unknown, message?: unknown } | undefined
    const driver = err === undefined ? undefined : [err.code, err.message].filter(x => typeof x === 'string' && x !== '').join(': ')
    const tries = wait.attempts === 0
      ? 'the first try is under way'
      : `${wait.attempts} tr${wait.attempts === 1 ? 'y' : 'ies'} failed since ${wait.since.toISOString()}, the next at ${wait.nextTryAt?.toISOString() ?? '?'}`
    return {
      role: 'single' as const,
      status: 'starting' as const,
      ami: { ok: false, state: 'not started (waiting for the store)', since: wait.since.toISOString(), connects: 0, reconnectAttempts: 0, ...target.ami },
      store: {
        ...target.store,
        ok: false,
        detail: `waiting to open: ${reason()}${driver !== undefined && driver !== '' ? ` (${driver})` : ''}; ${tries}`,
        checkedAt: (wait.failedAt ?? wait.since).toISOString(),
        waitingSince: wait.since.toISOString(),
        attempts: wait.attempts,
        ...(wait.nextTryAt !== undefined ? { nextTryAt: wait.nextTryAt.toISOString() } : {})
      },
      lease: null,
      instances: [{ id: instanceId, role: 'single' as const, lastSeenAt: new Date().toISOString() }]
    }
  })

  // Answered in onRequest, after authentication and before the body is read: a body
  // nobody will look at is neither parsed nor refused (no 400 or 415 for it).
  const unavailable = async (_req: unknown, reply: FastifyReply): Promise<FastifyReply> => {
    return reply.code(503).header('retry-after', retryAfterS()).send({
      error: 'STORE_UNAVAILABLE',
      message: `the service is starting and its store is not open yet (${reason()}); the request was not completed, try again later`
    })
  }
  const notYet = async (): Promise<never> => { throw new Error('answered in onRequest') }
  // Every role: while waiting, any known token learns that the store is not there yet (503), none a 403.
  app.all('/v1/*', { config: { auth: { roles: [...ROLES] } }, onRequest: unavailable }, notYet)
  app.all('/metrics', { config: { auth: { roles: [...ROLES] } }, onRequest: unavailable }, notYet)
  app.all('/*', { config: { auth: 'public' }, onRequest: unavailable }, notYet)

  return {
    app,
    onRetry (err, attempt, retryInMs) {
      const now = new Date()
      wait.lastError = err
      wait.attempts = attempt
      wait.failedAt = now
      wait.nextTryAt = new Date(now.getTime() + retryInMs)
    },
    reason,
    async release () {
      // The port is free at once; what was accepted is answered here (503), then closed.
      return await releasePort(app)
    }
  }
}
