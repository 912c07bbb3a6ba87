// Auth by role over the app's REAL route table (CONTRACT.md section 4): every route the
// service registers, including ones added after this test was written, is probed over
// HTTP without a token, with bad tokens, with each role it does not allow, and (for
// agent-scoped routes) with another agent's token. A route without an auth rule fails
// here and refuses to start.
import t from 'tap'
import pino from 'pino'
import { createService } from '../../src/service.ts'
import { authProblem, type RouteEntry } from '../../src/http/route-table.ts'
import type { RoleName } from '../../src/config/schema.ts'
import { TOKENS, testConfig } from '../helpers/config.ts'
import { asteriskTransfers, startAppStack } from '../helpers/app-stack.ts'
import { ROLE_TOKEN, VALID_BODY, concreteUrl } from '../helpers/routes.ts'

const ALL_ROLES: RoleName[] = ['pbx', 'supervisor', 'agent', 'admin']

// The only routes that may answer without a token: probes, the UI pages and their
// assets, and the API documentation. Anything else marked public fails the test.
const mayBePublic = (url: string): boolean =>
  ['/healthz', '/readyz', '/', '/agent', '/admin', '/reports'].includes(url) || url.startsWith('/ui/') || url === '/docs' || url.startsWith('/docs/')

const CALL = 'auth-call-1' // connected to agent 1001
const concrete = (pattern: string): string => concreteUrl(pattern, { callId: CALL })

const agentScoped = (r: RouteEntry): boolean =>
  r.auth !== undefined && r.auth !== 'public' && r.auth.roles.includes('agent') && (r.url.includes(':callId') || r.url.includes(':agentId'))

t.test('every route of the real app: 401 without or with a bad token, 403 for each other role, 403 for another agent', async t => {
  const s = await startAppStack(t, { handler: asteriskTransfers })
  await s.connectedCall(CALL, '1001')
  const base = `http://127.0.0.1:${(s.svc.app.server.address() as { port: number }).port}`

  /** Over real HTTP (the SSE route never ends): status only, the body is abandoned. */
  const probe = async (method: string, url: string, authorization?: string, body?: unknown): Promise<number> => {
    const ac = new AbortController()
    const headers: Record<string, string> = authorization !== undefined ? { authorization } : {}
    if (body !== undefined) headers['content-type'] = 'application/json'
    const res = await fetch(base + url, { method, headers, signal: ac.signal, ...(body !== undefined && method !== 'GET' && method !== 'HEAD' ? { body: JSON.stringify(body) } : {}) })
    ac.abort()
    return res.status
  }

  const table = s.svc.app.routeTable
  t.ok(table.length >= 20, `the route table holds the app's routes (${table.length})`)
  const seen = new Set(table.map(r => `${r.method} ${r.url}`))
  for (const must of ['GET /healthz', 'GET /readyz', 'GET /v1/status', 'GET /metrics', 'GET /v1/audit', 'POST /v1/calls/:callId/direct-transfer', 'POST /v1/calls/:callId/wrapup', 'GET /v1/wrapup-codes', 'GET /v1/pause-reasons', 'POST /v1/cti/events', 'GET /docs/json', 'GET /v1/reports/summary', 'GET /v1/reports/agents']) {
    t.ok(seen.has(must), `${must} is in the table`)
  }

  for (const r of table) {
    const name = `${r.method} ${r.url}`
    t.equal(authProblem(r.auth), undefined, `${name} declares its auth`)
    const url = concrete(r.url)
    const body = r.method === 'POST' ? (VALID_BODY[name] ?? {}) : undefined
    if (r.auth === 'public') {
      t.ok(mayBePublic(r.url), `${name} may be public (probes, UI, docs only)`)
      const st = await probe(r.method, url)
      t.ok(st < 400 || st === 404, `${name} answers without a token (${st})`)
      continue
    }
    if (r.auth === undefined) continue
    t.equal(await probe(r.method, url), 401, `${name}: no token -> 401`)
    for (const bad of ['Bearer not-a-configured-token-000', `Bearer ${TOKENS.supervisor}x`, `Basic ${Buffer.from(`x:${TOKENS.supervisor}`).toString('base64')}`, 'Bearer', TOKENS.supervisor]) {
      t.equal(await probe(r.method, url, bad), 401, `${name}: bad credentials "${bad.slice(0, 12)}..." -> 401`)
    }
    for (const role of ALL_ROLES.filter(x => !(r.auth as { roles: RoleName[] }).roles.includes(x))) {
      t.equal(await probe(r.method, url, `Bearer ${ROLE_TOKEN[role]}`, body), 403, `${name}: role ${role} -> 403`)
    }
    if (agentScoped(r)) {
      if (r.method === 'POST') t.ok(VALID_BODY[name] !== undefined, `${name}: the test has a valid body for it (add one to VALID_BODY)`)
      t.equal(await probe(r.method, url, `Bearer ${TOKENS.agent1002}`, body), 403, `${name}: agent 1002 on agent 1001's ${r.url.includes(':callId') ? 'call' : 'resources'} -> 403`)
    }
    // And the roles it allows get past authentication (a 400 for a probe body is fine).
    for (const role of r.auth.roles) {
      const st = await probe(r.method, url, `Bearer ${ROLE_TOKEN[role]}`, r.method === 'POST' ? { probe: true } : undefined)
      t.ok(st !== 401 && st !== 403, `${name}: role ${role} is let in (${st})`)
    }
  }
  t.equal(s.fake.actionsNamed('BlindTransfer').length, 0, 'no probe transferred a call')
})

t.test('an agent token lists only its own agent', async t => {
  const s = await startAppStack(t)
  const mine = await s.get('/v1/agents', TOKENS.agent1002)
  t.equal(mine.status, 200)
  t.same(mine.body.map((a: { id: string }) => a.id), ['1002'])
  t.same((await s.get('/v1/agents', TOKENS.supervisor)).body.map((a: { id: string }) => a.id), ['1001', '1002'])
})

t.test('a route added without an auth rule makes the app refuse to start, naming it', async t => {
  const svc = await createService(testConfig(1), pino({ level: 'silent' }))
  t.teardown(() => svc.stop())
  svc.app.get('/v1/forgotten', async () => ({ leaked: true }))
  svc.app.post('/v1/no-roles', { config: { auth: { roles: [] } } }, async () => ({ leaked: true }))
  await t.rejects(async () => { await svc.app.ready() }, /GET \/v1\/forgotten declares no auth[\s\S]*POST \/v1\/no-roles declares auth without any role/)
})

t.test('authProblem: what counts as a declared rule', async t => {
  t.equal(authProblem('public'), undefined)
  t.equal(authProblem({ roles: ['supervisor'] }), undefined)
  t.match(authProblem(undefined), /declares no auth/)
  t.match(authProblem({ roles: [] }), /without any role/)
})
