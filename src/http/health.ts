// Liveness and readiness. /readyz says why it is not ready, so an operator (or a
// load balancer's log) sees "AMI: login refused ..." rather than a bare 503.
import Type from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { AmiStatus } from '../ami/index.ts'
import { NoQuery } from './schemas.ts'

export interface HealthDeps {
  ami: { status: () => AmiStatus }
  store: { check: () => void }
}

const Check = Type.Object({ ok: Type.Boolean(), detail: Type.String() })

export const healthRoutes: FastifyPluginAsyncTypebox<HealthDeps> = async (app, deps) => {
  app.get('/healthz', {
    config: { auth: 'public' },
    schema: { summary: 'Liveness: 200 while the process runs', querystring: NoQuery, response: { 200: Type.Object({ status: Type.Literal('ok') }) } }
  }, async () => ({ status: 'ok' as const }))

  app.get('/readyz', {
    config: { auth: 'public' },
    schema: {
      summary: 'Readiness: 200 when logged in to AMI and the store is usable, else 503 with the reason',
      querystring: NoQuery,
      response: {
        200: Type.Object({ status: Type.Literal('ready'), checks: Type.Object({ ami: Check, store: Check }) }),
        503: Type.Object({ error: Type.Literal('NOT_READY'), message: Type.String(), checks: Type.Object({ ami: Check, store: Check }) })
      }
    }
  }, async (_req, reply) => {
    const s = deps.ami.status()
    const ami = s.state === 'connected'
      ? { ok: true, detail: `logged in since ${s.since}` }
      : { ok: false, detail: `AMI ${s.state}${s.lastError !== undefined ? `: ${s.lastError}` : ''}` }
    let store = { ok: true, detail: 'open' }
    try { deps.store.check() } catch (err) { store = { ok: false, detail: `store: ${(err as Error).message}` } }
    if (ami.ok && store.ok) return { status: 'ready' as const, checks: { ami, store } }
    const message = [ami, store].filter(c => !c.ok).map(c => c.detail).join('; ')
    return reply.code(503).send({ error: 'NOT_READY' as const, message, checks: { ami, store } })
  })
}
