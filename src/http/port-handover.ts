// Handing this process's port from a small app (src/http/starting.ts while the store
// opens, src/ha/standby-app.ts while another instance is active) to the full one. The
// two share the port, not a socket (Node 20 has no SO_REUSEPORT): the port is closed
// for the time the full app takes to bind it (a few milliseconds).
import { Server as NetServer } from 'node:net'
import { setImmediate as immediate, setTimeout as delay } from 'node:timers/promises'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Config } from '../config/schema.ts'
import { AccessLog } from './access-log.ts'
import { authPlugin } from './auth.ts'
import { installErrorHandler } from './errors.ts'

const openConnections = async (server: NetServer): Promise<number> => await new Promise(resolve => { server.getConnections((err, n) => { resolve(err !== null ? 0 : n) }) })

/**
 * No keep-alive on the small app's answers: a client's idle socket to it would be closed
 * under it at the hand-over, and its next request reset (ECONNRESET, seen in the
 * starting app's test) instead of finding the full app.
 */
export function answerWithoutKeepAlive (app: FastifyInstance): void {
  app.addHook('onSend', async (_req, reply) => { void reply.header('connection', 'close') })
}

/**
 * A small app that will hand its port over: the full app's body limit, error rendering,
 * access log and tokens (the config's), idle sockets closed at close, 503 while closing,
 * and no keep-alive. Its own routes are the caller's.
 */
export async function buildHandOverApp (config: Config, logger?: FastifyBaseLogger): Promise<FastifyInstance> {
  const app = Fastify({
    ...(logger !== undefined ? { loggerInstance: logger } : { logger: false }),
    bodyLimit: config.http.bodyLimit,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    logController: new AccessLog()
  })
  installErrorHandler(app)
  answerWithoutKeepAlive(app)
  await app.register(authPlugin, { tokens: config.auth.tokens })
  return app
}

/**
 * Frees the port at once and resolves; `closed` settles once the connections already
 * accepted are answered (or after `drainMs` at most) and the app is closed.
 */
export async function releasePort (app: FastifyInstance, drainMs = 1000): Promise<{ closed: Promise<void> }> {
  // First a full turn of the event loop (its poll phase accepts what is queued): the
  // full service's boot kept the loop busy, a probe that came meanwhile waits in the
  // kernel's accept queue, and closing the listening socket would reset it (the test
  // saw one such reset per hand-over before this).
  await immediate()
  await immediate()
  // Then stop accepting (the port is free at once) and nothing more: Node's http
  // close() would also drop the connections accepted whose request has not arrived
  // yet, a reset for their clients. Those are answered here (connection: close), and
  // the app is closed once they are done, or after drainMs at most.
  NetServer.prototype.close.call(app.server)
  const closed = (async () => {
    const deadline = Date.now() + drainMs
    while (await openConnections(app.server) > 0 && Date.now() < deadline) await delay(10)
    await app.close()
  })()
  return { closed }
}
