// Hostile input at the HTTP edge: every route validates params, query and body with
// closed schemas (checked over the real route table), refusals name the field, bodies
// are size-limited, clients are rate-limited per token, and load is shed (not probes).
import t from 'tap'
import { TOKENS } from '../helpers/config.ts'
import { startAppStack } from '../helpers/app-stack.ts'

type Schema = { type?: string | string[], additionalProperties?: unknown, anyOf?: Schema[], properties?: Record<string, Schema>, items?: Schema } | undefined

/** Closed: an object that refuses unknown keys, all the way down (or a union of such). */
function closed (s: Schema, path: string): string[] {
  if (s === undefined) return [`${path}: no schema`]
  if (s.anyOf !== undefined) return s.anyOf.flatMap((b, i) => closed(b, `${path}|${i}`))
  const out: string[] = []
  if (s.type === 'object' || s.properties !== undefined) {
    if (s.additionalProperties !== false) out.push(`${path}: unknown keys are not refused`)
    for (const [k, v] of Object.entries(s.properties ?? {})) if (v !== undefined && (v.type === 'object' || v.anyOf !== undefined)) out.push(...closed(v, `${path}.${k}`))
  }
  return out
}

t.test('every API route has closed schemas for params, query and body (over the real route table)', async t => {
  const s = await startAppStack(t)
  const api = s.svc.app.routeTable.filter(r => r.auth !== 'public' && r.method !== 'HEAD')
  t.ok(api.length >= 15, `${api.length} API routes`)
  for (const r of api) {
    const schema = (r.schema ?? {}) as { params?: Schema, querystring?: Schema, body?: Schema }
    const name = `${r.method} ${r.url}`
    if (r.url.includes(':')) t.same(closed(schema.params, 'params'), [], `${name}: params`)
    t.same(closed(schema.querystring, 'querystring'), [], `${name}: querystring`)
    if (r.method === 'POST') t.same(closed(schema.body, 'body'), [], `${name}: body`)
  }
})

t.test('refusals name the field: unknown keys, wrong types, bad params and query', async t => {
  const s = await startAppStack(t)
  await s.connectedCall('h-1')
  const cases: Array<[string, string, string, unknown, RegExp]> = [
    ['POST', '/v1/calls/h-1/inquiry', TOKENS.agent1001, { topic: 'billing', customer: { name: 'A', salutation: 'Ibu', age: 3 } }, /body\.customer\.age/],
    ['POST', '/v1/calls/h-1/inquiry', TOKENS.agent1001, { topic: 'billing', customer: { name: 'A', salutation: 'Ibu' }, debug: true }, /body\.debug/],
    ['POST', '/v1/calls/h-1/inquiry', TOKENS.agent1001, { topic: 'billing', customer: { name: 7, salutation: 'Ibu' } }, /body\.customer\.name/],
    ['POST', '/v1/calls/h-1/inquiry', TOKENS.agent1001, { topic: 'billing' }, /body\.customer/],
    ['POST', '/v1/calls/h-1/consent', TOKENS.agent1001, { accepted: 'yes' }, /body\.accepted/],
    ['POST', '/v1/calls/h-1/direct-transfer', TOKENS.agent1001, { target: 3, force: true }, /body\.force/],
    ['POST', '/v1/calls/h-1/direct-transfer', TOKENS.agent1001, { target: 3.5 }, /body\.target/],
    ['POST', '/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'x', data: { sip: 1 } }, /body\.data\.sip/],
    ['POST', '/v1/cti/events', TOKENS.pbx, { type: 'call.exploded', callId: 'x' }, /body\.type/],
    ['POST', '/v1/agents/1001/acw', TOKENS.supervisor, { extendSeconds: 10, reason: 'x' }, /body\.reason/],
    ['POST', '/v1/agents/1001/acw/complete', TOKENS.agent1001, { now: true }, /body\.now/],
    ['POST', '/v1/apkt/records/abc/retry', TOKENS.supervisor, { force: true }, /body\.force/],
    ['GET', '/v1/calls/h%0D%0A1', TOKENS.supervisor, undefined, /params\.callId/],
    ['GET', '/v1/agents/10%2001', TOKENS.supervisor, undefined, /params\.agentId/],
    ['GET', '/v1/agents?verbose=1', TOKENS.supervisor, undefined, /querystring\.verbose/],
    ['GET', '/v1/apkt/records?status=lost', TOKENS.supervisor, undefined, /querystring\.status/],
    ['GET', '/v1/audit?limit=-1', TOKENS.supervisor, undefined, /querystring\.limit/],
    ['GET', '/v1/dialplan/directory/3?x=1', TOKENS.pbx, undefined, /querystring\.x/]
  ]
  for (const [method, url, token, body, field] of cases) {
    const r = await s.request(method, url, { token, ...(body !== undefined ? { body } : {}) })
    t.equal(r.status, 400, `${method} ${url} ${JSON.stringify(body) ?? ''} -> 400`)
    t.equal(r.body?.error, 'BAD_REQUEST')
    t.match(r.body?.message, field, `names ${field.source}`)
  }
  const call = await s.get('/v1/calls/h-1', TOKENS.supervisor)
  t.equal(call.status, 200)
  t.equal(call.body.state, 'connected', 'none of it changed the call')
  t.notOk(call.body.topic)
  const bad = await s.request('POST', '/v1/calls/h-1/consent', { token: TOKENS.agent1001, raw: '{"accepted": tru', headers: { 'content-type': 'application/json' } })
  t.equal(bad.status, 400, 'broken JSON -> 400')
  t.match(bad.body, { error: 'BAD_REQUEST' })
  const xml = await s.request('POST', '/v1/calls/h-1/consent', { token: TOKENS.agent1001, raw: '<accepted/>', headers: { 'content-type': 'application/xml' } })
  t.equal(xml.status, 415)
  t.equal(xml.body?.error, 'UNSUPPORTED_MEDIA_TYPE')
})

t.test('bodies over http.bodyLimit -> 413, nothing stored', async t => {
  const s = await startAppStack(t, { edit: raw => { raw.http.bodyLimit = 2048 } })
  await s.connectedCall('big-1')
  const huge = { topic: 'coverage', customer: { name: 'Budi', salutation: 'Bapak' }, area: 'X'.repeat(4000) }
  const r = await s.post('/v1/calls/big-1/inquiry', TOKENS.agent1001, huge)
  t.equal(r.status, 413)
  t.equal(r.body.error, 'PAYLOAD_TOO_LARGE')
  const cti = await s.request('POST', '/v1/cti/events', { token: TOKENS.pbx, raw: `{"type":"call.offered","callId":"big-2","pad":"${'a'.repeat(5000)}"}`, headers: { 'content-type': 'application/json' } })
  t.equal(cti.status, 413)
  t.equal((await s.get('/v1/calls/big-2', TOKENS.supervisor)).status, 404, 'the oversized event created nothing')
  t.notOk((await s.get('/v1/calls/big-1', TOKENS.supervisor)).body.topic, 'the oversized inquiry stored nothing')
  t.equal((await s.post('/v1/calls/big-1/inquiry', TOKENS.agent1001, { ...huge, area: 'Cilincing' })).status, 200, 'a normal body still works')
})

t.test('rate limit per token: one client over its allowance gets 429, others do not; no token = per IP; probes exempt', async t => {
  const s = await startAppStack(t, { edit: raw => { raw.http.rateLimit = { max: 5, timeWindowMs: 60_000 } } })
  for (let i = 0; i < 5; i++) t.equal((await s.get('/v1/agents', TOKENS.supervisor)).status, 200)
  const over = await s.get('/v1/agents', TOKENS.supervisor)
  t.equal(over.status, 429)
  t.equal(over.body.error, 'RATE_LIMITED')
  t.match(over.body.message, /at most 5 requests per 60 s/)
  t.ok(Number(over.headers['retry-after']) > 0, 'Retry-After says when')
  t.equal((await s.get('/v1/agents/1001', TOKENS.agent1001)).status, 200, 'another token has its own allowance')
  // Without a valid token the key is the client IP: made-up tokens share one allowance.
  const anon = []
  for (let i = 0; i < 7; i++) anon.push((await s.get('/v1/agents', `made-up-token-${i}-0123456789`)).status)
  t.same(anon, [401, 401, 401, 401, 401, 429, 429], 'token guessing is limited per IP')
  for (let i = 0; i < 10; i++) t.equal((await s.get('/healthz')).status, 200, 'probes are never limited')
})

t.test('load shedding: under pressure API requests get 503 OVERLOADED; /healthz and /readyz still answer', async t => {
  // 1 byte of heap is always exceeded: the service is "under pressure" from the first sample on.
  const s = await startAppStack(t, { edit: raw => { raw.http.underPressure = { maxHeapUsedBytes: 1 } } })
  let r = await s.get('/v1/agents', TOKENS.supervisor)
  const deadline = Date.now() + 5000
  while (r.status !== 503 && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 100))
    r = await s.get('/v1/agents', TOKENS.supervisor)
  }
  t.equal(r.status, 503)
  t.equal(r.body.error, 'OVERLOADED')
  t.ok(Number(r.headers['retry-after']) > 0)
  t.equal((await s.post('/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'p-1' })).status, 503, 'writes are shed too')
  t.equal((await s.get('/healthz')).status, 200, '/healthz answers')
  t.equal((await s.get('/readyz')).status, 200, '/readyz answers')
})
