// PLACEHOLDER (branch ha-core): the HTTP face of a standby instance, only as much as the
// runner (src/ha/runner.ts) and its tests need. The real one (forwarding every route to
// the active's advertiseUrl) comes from another branch with this same signature and
// replaces this file at merge.
//
//  - GET /healthz: 200;
//  - GET /readyz: 200 { status: "ready", role: "standby", checks: {} };
//  - anything else: 503 NO_ACTIVE.
import { Server as NetServer } from 'node:net'
import { setImmediate as immediate, setTimeout as delay } from 'node:timers/promises'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Config } from '../config/schema.ts'
import type { StandbyDeps } from './group-status.ts'

export interface StandbyApp {
  app: FastifyInstance
  /** Frees the port for the full service at once; `closed` settles once its last answers went out. */
  release: () => Promise<{ closed: Promise<void> }>
}

const openConnections = async (server: NetServer): Promise<number> => await new Promise(resolve => { server.getConnections((err, n) => { resolve(err !== null ? 0 : n) }) })

export async function buildStandbyApp (config: Config, deps: StandbyDeps, logger?: FastifyBaseLogger): Promise<StandbyApp> {
  const app = Fastify({
    ...(logger !== undefined ? { loggerInstance: logger } : { logger: false }),
    bodyLimit: config.http.bodyLimit,
    forceCloseConnections: 'idle',
    return503OnClosing: true
  })
  app.addHook('onSend', async (_req, reply) => { void reply.header('connection', 'close') })
  app.get('/healthz', async () => ({ status: 'ok' as const }))
  app.get('/readyz', async () => ({ status: 'ready' as const, role: 'standby' as const, checks: {} }))
  app.all('/*', async (_req, reply) => await reply.code(503).send({
    error: 'NO_ACTIVE',
    message: `instance ${deps.instanceId} is a standby of its HA group${deps.activeUrl() !== undefined ? '' : ' and no active is known'}; try again later`
  }))
  return {
    app,
    async release () {
      await immediate()
      await immediate()
      NetServer.prototype.close.call(app.server)
      const closed = (async () => {
        const deadline = Date.now() + 1000
        while (await openConnections(app.server) > 0 && Date.now() < deadline) await delay(10)
        await app.close()
      })()
      return { closed }
    }
  }
}
