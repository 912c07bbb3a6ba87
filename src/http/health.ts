// Liveness and readiness, both public. /readyz names only which dependency is down
// ("not ready: ami"): an AMI user, host, port, store path or driver message is for
// supervisors (GET /v1/status), not for anyone who can reach the port. Its checks come
// from Readiness, which runs the store's durable check at most once a second.
import Type from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { AmiStatus } from '../ami/index.ts'
import type { Readiness } from './readiness.ts'
import type { StoreKind } from '../store/port.ts'
import { NoQuery } from './schemas.ts'

export interface HealthDeps {
  ami: { status: () => AmiStatus }
  /** The store's check rejects while it cannot take writes; kind and where are for /v1/status. */
  store: { check: () => Promise<void>, kind: StoreKind, where: string }
}

// Only `ok`: the response schema is also what Fastify serialises, so a detail added
// to a check by mistake would be dropped rather than published.
const PublicCheck = Type.Object({ ok: Type.Boolean() })
const Checks = Type.Object({ ami: PublicCheck, store: PublicCheck })
const Role = Type.Union([Type.Literal('single'), Type.Literal('active'), Type.Literal('standby')], { description: 'single: one instance; active: the instance of an HA group that acts on the PBX; standby: another instance of the group' })

/** `role`: in an HA group, this instance's role now (absent: a single instance). */
export const healthRoutes: FastifyPluginAsyncTypebox<{ readiness: Readiness, role?: () => 'active' | 'standby' }> = async (app, deps) => {
  app.get('/healthz', {
    config: { auth: 'public' },
    schema: { summary: 'Liveness: 200 while the process runs', querystring: NoQuery, response: { 200: Type.Object({ status: Type.Literal('ok') }) } }
  }, async () => ({ status: 'ok' as const }))

  app.get('/readyz', {
    config: { auth: 'public' },
    schema: {
      summary: 'Readiness: 200 when logged in to AMI and the store is usable, else 503 naming what is down (ami, store)',
      description: 'Checked at most once a second however often it is asked. Details (AMI session, store) are in GET /v1/status. While a PostgreSQL store cannot be opened at start, the service already answers: 503 with `status: starting`, `role` and `checks.store.reason` (why, in words), every other route 503 STORE_UNAVAILABLE (src/http/starting.ts).',
      querystring: NoQuery,
      response: {
        200: Type.Object({ status: Type.Literal('ready'), role: Role, checks: Checks }),
        503: Type.Object({ error: Type.Literal('NOT_READY'), message: Type.String(), checks: Checks })
      }
    }
  }, async (_req, reply) => {
    const r = await deps.readiness.current()
    const checks = { ami: { ok: r.ami.ok }, store: { ok: r.store.ok } }
    const role: 'single' | 'active' | 'standby' = deps.role?.() ?? 'single'
    // The full service of a group runs on the active only: one that lost its lease is
    // standing down (the runner stops it and a standby app takes the port), not ready.
    if (role === 'standby') return reply.code(503).send({ error: 'NOT_READY' as const, message: 'not ready: this instance lost its HA lease and is standing down', checks })
    if (r.ami.ok && r.store.ok) return { status: 'ready' as const, role, checks }
    const down = (['ami', 'store'] as const).filter(name => !checks[name].ok)
    return reply.code(503).send({ error: 'NOT_READY' as const, message: `not ready: ${down.join(', ')}`, checks })
  })
}
