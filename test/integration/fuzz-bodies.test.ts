// Property-based: every POST route of the real route table gets random JSON, raw junk
// and mutations of a valid body (keys dropped, added, retyped, hostile strings). The
// service never answers 500, never crashes or leaves a rejection unhandled, and its
// state stays consistent: every call and agent still reads back (through the
// response schemas), no agent holds two calls, no call was transferred twice, and
// nothing hostile reached the AMI socket.
import t from 'tap'
import fc from 'fast-check'
import { TOKENS } from '../helpers/config.ts'
import { asteriskWorks, startAppStack, type Res } from '../helpers/app-stack.ts'
import { ROLE_TOKEN, VALID_BODY, concreteUrl } from '../helpers/routes.ts'

const RUNS = Number(process.env.FUZZ_RUNS ?? 120)

const hostile = fc.constantFrom(
  '\r\n\r\nAction: Originate\r\nChannel: Local/999@default\r\nApplication: System\r\nData: id\r\n\r\n',
  'A\r\nB', 'A\nB', 'A\rB', 'A\u0000B', '\u2028', '\u0085', '%0d%0a', '', ' ', 'x'.repeat(5000),
  '__proto__', 'constructor', 'toString', '{"a":1}', 'Bapak', 'activation', '3', '1001', 'auth-call-1'
)
const leaf = fc.oneof(fc.jsonValue({ maxDepth: 2 }), hostile, fc.string({ unit: 'binary', maxLength: 40 }), fc.integer(), fc.double())

type Json = unknown

/** Every (container, key) pair in a JSON value, so a mutation can pick one. */
function slots (v: Json, out: Array<[Record<string, Json> | Json[], string | number]> = []): Array<[Record<string, Json> | Json[], string | number]> {
  if (Array.isArray(v)) v.forEach((x, i) => { out.push([v, i]); slots(x, out) })
  else if (typeof v === 'object' && v !== null) for (const k of Object.keys(v)) { out.push([v as Record<string, Json>, k]); slots((v as Record<string, Json>)[k], out) }
  return out
}
function containers (v: Json, out: Array<Record<string, Json>> = []): Array<Record<string, Json>> {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) { out.push(v as Record<string, Json>); for (const x of Object.values(v)) containers(x, out) }
  return out
}

const op = fc.record({ kind: fc.constantFrom('delete', 'set', 'add', 'hostile', 'root'), at: fc.nat(), key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'prototype', 'extra')), value: leaf, str: hostile })

function mutate (base: Json, ops: Array<{ kind: string, at: number, key: string, value: Json, str: string }>): Json {
  let v: Json = structuredClone(base)
  for (const o of ops) {
    const s = slots(v)
    const c = containers(v)
    const slot = s.length > 0 ? s[o.at % s.length] : undefined
    switch (o.kind) {
      case 'delete': if (slot !== undefined) { if (Array.isArray(slot[0])) slot[0].splice(slot[1] as number, 1); else delete slot[0][slot[1] as string] } break
      case 'set': if (slot !== undefined) (slot[0] as Record<string | number, Json>)[slot[1]] = o.value; break
      case 'hostile': if (slot !== undefined) (slot[0] as Record<string | number, Json>)[slot[1]] = o.str; break
      case 'add': { const target = c.length > 0 ? c[o.at % c.length] : undefined; if (target !== undefined) Object.defineProperty(target, o.key, { value: o.value, enumerable: true, writable: true, configurable: true }) } break
      case 'root': v = o.value; break
    }
  }
  return v
}

type JsonSchema = { type?: string, anyOf?: JsonSchema[], const?: unknown, enum?: unknown[], properties?: Record<string, JsonSchema>, required?: string[], pattern?: string, minLength?: number, maxLength?: number, minimum?: number, maximum?: number, format?: string, items?: JsonSchema }

/** Values that satisfy a route's body schema: the bodies a correct client could send. */
function fromSchema (s: JsonSchema): fc.Arbitrary<unknown> {
  if (s.anyOf !== undefined) return fc.oneof(...s.anyOf.map(fromSchema))
  if (s.const !== undefined) return fc.constant(s.const)
  if (s.enum !== undefined) return fc.constantFrom(...s.enum)
  switch (s.type) {
    case 'object': {
      const props = Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, v]) => [k, fromSchema(v)]))
      return fc.record(props, { requiredKeys: s.required ?? [] })
    }
    case 'string': {
      if (s.format === 'date-time') return fc.date({ min: new Date('2021-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map(d => d.toISOString())
      const min = s.minLength ?? 0
      const max = s.maxLength ?? 64
      const base = s.pattern !== undefined ? fc.stringMatching(new RegExp(s.pattern)) : fc.string({ minLength: min, maxLength: max })
      const re = s.pattern !== undefined ? new RegExp(s.pattern) : undefined
      return base.map(x => x.slice(0, max)).filter(x => x.length >= min && (re === undefined || re.test(x)))
    }
    case 'integer': return fc.integer({ min: s.minimum ?? -1_000_000, max: s.maximum ?? 1_000_000 })
    case 'number': return fc.double({ noNaN: true, noDefaultInfinity: true })
    case 'boolean': return fc.boolean()
    case 'array': return fc.array(s.items !== undefined ? fromSchema(s.items) : fc.jsonValue(), { maxLength: 4 })
    default: return fc.jsonValue({ maxDepth: 2 })
  }
}

/** What each route's call needs first: classified, consented, or ended (agent in ACW). */
const SETUP: Record<string, Array<'inquiry' | 'consent' | 'acw'>> = {
  'POST /v1/calls/:callId/consent': ['inquiry'],
  'POST /v1/calls/:callId/direct-transfer': ['inquiry', 'consent'],
  'POST /v1/agents/:agentId/acw/complete': ['acw'],
  'POST /v1/agents/:agentId/acw': ['acw']
}

t.test('every POST body: random JSON, junk and mutations of valid bodies never give 500 or corrupt state', async t => {
  const problems: unknown[] = []
  const onProblem = (e: unknown): void => { problems.push(e) }
  process.on('unhandledRejection', onProblem)
  process.on('uncaughtException', onProblem)
  t.teardown(() => { process.off('unhandledRejection', onProblem); process.off('uncaughtException', onProblem) })

  const s = await startAppStack(t, { handler: asteriskWorks })
  const posts = s.svc.app.routeTable.filter(r => r.method === 'POST')
  t.ok(posts.length >= 7, `${posts.length} POST routes`)
  const callIds = new Set<string>()
  let statuses = new Map<number, number>()

  const send = async (method: string, url: string, token: string, payload: { json: Json } | { raw: string }): Promise<Res> => {
    const r = 'raw' in payload
      ? await s.request(method, url, { token, raw: payload.raw, headers: { 'content-type': 'application/json' } })
      : await s.request(method, url, { token, raw: JSON.stringify(payload.json) ?? 'null', headers: { 'content-type': 'application/json' } })
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
    return r
  }
  const wellFormed = (r: Res, what: string): boolean => {
    if (r.status >= 500) { t.fail(`${what} -> ${r.status} ${r.text.slice(0, 300)}`); return false }
    if (r.status >= 400 && (typeof r.body?.error !== 'string' || typeof r.body?.message !== 'string')) { t.fail(`${what} -> ${r.status} without {error, message}: ${r.text.slice(0, 200)}`); return false }
    return true
  }

  for (const route of posts) {
    const name = `${route.method} ${route.url}`
    const base = VALID_BODY[name]
    if (base === undefined) { t.fail(`${name}: no valid sample body in test/helpers/routes.ts`); continue }
    const auth = route.auth
    if (auth === undefined || auth === 'public') continue
    const token = ROLE_TOKEN[auth.roles[0] ?? 'supervisor']
    // A fresh call per route, brought to the state where the route has work to do.
    const callId = `fz-${route.url.split('/').filter(Boolean).pop() ?? 'x'}`
    callIds.add(callId)
    await s.connectedCall(callId)
    const step = SETUP[name] ?? []
    if (step.includes('inquiry')) await s.post(`/v1/calls/${callId}/inquiry`, TOKENS.agent1001, VALID_BODY['POST /v1/calls/:callId/inquiry'])
    if (step.includes('consent')) await s.post(`/v1/calls/${callId}/consent`, TOKENS.agent1001, { accepted: true })
    if (step.includes('acw')) await s.post('/v1/cti/events', TOKENS.pbx, { type: 'call.ended', callId, data: { reason: 'caller hung up' } })
    const url = concreteUrl(route.url, { callId })
    statuses = new Map()

    // The sample body as it is, once: a route whose valid values come from the config
    // (wrap-up codes, pause reasons) rarely meets one among generated and mutated bodies,
    // and its success path must be among what is tried.
    wellFormed(await send('POST', url, token, { json: base }), `${name} sample ${JSON.stringify(base)?.slice(0, 120)}`)
    await fc.assert(fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (json) => wellFormed(await send('POST', url, token, { json }), `${name} random ${JSON.stringify(json)?.slice(0, 120)}`)), { numRuns: RUNS })
    const valid = fromSchema((route.schema as { body?: JsonSchema } | undefined)?.body ?? {})
    await fc.assert(fc.asyncProperty(valid, async (body) =>
      wellFormed(await send('POST', url, token, { json: body }), `${name} valid ${JSON.stringify(body)?.slice(0, 160)}`)), { numRuns: RUNS })
    await fc.assert(fc.asyncProperty(fc.oneof(fc.constant(base), valid), fc.array(op, { minLength: 1, maxLength: 3 }), async (start, ops) => {
      const body = mutate(start, ops)
      return wellFormed(await send('POST', url, token, { json: body }), `${name} mutated ${JSON.stringify(body)?.slice(0, 160)}`)
    }), { numRuns: RUNS * 2 })
    await fc.assert(fc.asyncProperty(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.constantFrom('{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"admin":true}}}', '[', '{"a":', 'null', '""', '1e999', '{"topic":"activation","topic":"billing"}')), async (raw) =>
      wellFormed(await send('POST', url, token, { raw }), `${name} raw ${JSON.stringify(raw).slice(0, 120)}`)), { numRuns: RUNS / 2 })
    t.ok(statuses.size > 1, `${name}: answers varied (${[...statuses].map(([k, n]) => `${k}x${n}`).join(' ')})`)
  }

  // State: every call and agent still reads back through its response schema.
  const states = new Set(['offered', 'connected', 'transferring', 'transferred', 'ended'])
  for (const id of callIds) {
    const c = await s.get(`/v1/calls/${id}`, TOKENS.supervisor)
    t.equal(c.status, 200, `call ${id} reads back`)
    t.ok(states.has(c.body?.state), `call ${id} is in a known state (${c.body?.state})`)
    t.not(c.body?.state, 'transferring', `call ${id} is not stuck transferring`)
  }
  const agents = await s.get('/v1/agents', TOKENS.supervisor)
  t.equal(agents.status, 200)
  for (const a of agents.body as Array<{ id: string, state: string, callId?: string }>) {
    if (a.callId === undefined) continue
    const c = await s.get(`/v1/calls/${a.callId}`, TOKENS.supervisor)
    t.equal(c.body.agentId, a.id, `agent ${a.id}'s call ${a.callId} is connected to it`)
    t.ok(['connected', 'offered', 'transferring'].includes(c.body.state), `agent ${a.id} holds a live call`)
  }
  const transfers = s.fake.actionsNamed('BlindTransfer').map(a => a.headers.channel)
  t.equal(new Set(transfers).size, transfers.length, `no call transferred twice (${transfers.length} transfers)`)
  t.notOk(s.fake.received.includes('\0'), 'no NUL reached the AMI socket')
  t.notOk(/originate/i.test(s.fake.received), 'no injected action reached the AMI socket')
  t.equal((await s.get('/healthz')).status, 200)
  t.equal((await s.get('/readyz')).status, 200, 'still logged in to AMI, store open')
  await new Promise(resolve => setImmediate(resolve))
  t.same(problems, [], 'no unhandled rejection or uncaught exception')
})
