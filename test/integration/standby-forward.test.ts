// A standby of an HA group forwards every request to the active (src/ha/standby-app.ts):
// a real full service (SQLite, fake AMI) as the active, a standby app pointed at it, both
// over real sockets. The same request, sent directly and through the standby, gets the
// same status and body; a write through the standby is done once, on the active; the
// event stream flows through; without an active the standby says so (503 NO_ACTIVE);
// a request is never sent twice. Small HTTP servers stand in for an active that resets,
// answers 503, never answers, or freezes mid-stream.
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import t, { type Test } from 'tap'
import { TOKENS, testConfig } from '../helpers/config.ts'
import { asteriskWorks, startAppStack, type AppStack } from '../helpers/app-stack.ts'
import { waitFor } from '../helpers/ami.ts'
import { buildStandbyApp, type StandbyApp } from '../../src/ha/standby-app.ts'
import type { GroupStatus } from '../../src/ha/group-status.ts'

interface Answer { status: number, text: string, body: any, headers: Headers }

async function call (base: string, method: string, path: string, opts: { token?: string, json?: unknown, raw?: string, headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(opts.token !== undefined ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers }
  let body: string | undefined
  if (opts.json !== undefined) { body = JSON.stringify(opts.json); headers['content-type'] = 'application/json' }
  if (opts.raw !== undefined) body = opts.raw
  const res = await fetch(base + path, { method, headers, ...(body !== undefined ? { body } : {}) })
  const text = await res.text()
  let parsed: unknown
  try { parsed = JSON.parse(text) } catch { parsed = undefined }
  return { status: res.status, text, body: parsed, headers: res.headers }
}

const urlOf = (server: Server): string => `http://127.0.0.1:${(server.address() as AddressInfo).port}`

const group = (active: string | undefined): GroupStatus => ({
  role: 'standby',
  leaseHolder: active === undefined ? null : 'cti-a',
  leaseExpiresAt: active === undefined ? null : new Date(Date.now() + 5000).toISOString(),
  instances: [
    ...(active !== undefined ? [{ id: 'cti-a', role: 'active' as const, advertiseUrl: active, lastSeenAt: new Date().toISOString() }] : []),
    { id: 'cti-b', role: 'standby' as const, advertiseUrl: 'http://127.0.0.1:1', lastSeenAt: new Date().toISOString() }
  ]
})

async function standby (t: Test, activeUrl: () => string | undefined, tuning: { timeoutMs?: number } = {}): Promise<{ sb: StandbyApp, url: string }> {
  const config = testConfig(5038)
  const sb = await buildStandbyApp(config, { instanceId: 'cti-b', activeUrl, group: async () => group(activeUrl()) }, undefined, tuning)
  await sb.app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await sb.app.close() })
  return { sb, url: urlOf(sb.app.server) }
}

async function activeStack (t: Test): Promise<{ s: AppStack, url: string }> {
  const s = await startAppStack(t, { handler: asteriskWorks })
  return { s, url: urlOf(s.svc.app.server) }
}

/** Reads an SSE response's frames as they come; `ended` settles when the stream ends (cleanly or not). */
function frames (res: Response): { until: (pred: (f: string) => boolean) => Promise<string>, ended: Promise<void>, all: () => string[] } {
  if (res.body === null) throw new Error('no body')
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  const got: string[] = []
  let buf = ''
  const ended = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }))
      if (done) return
      buf += decoder.decode(value, { stream: true })
      let i
      while ((i = buf.indexOf('\n\n')) >= 0) { got.push(buf.slice(0, i)); buf = buf.slice(i + 2) }
    }
  })()
  const until = async (pred: (f: string) => boolean): Promise<string> => await waitFor(`a frame; got:\n${got.join('\n---\n')}`, () => got.find(pred), 5000)
  return { until, ended, all: () => got }
}

async function rawRequest (url: string, method: string, headers: Record<string, string>, body: string): Promise<{ status: number, text: string }> {
  return await new Promise((resolve, reject) => {
    const r = httpRequest(url, { method, headers }, res => {
      let text = ''
      res.on('data', (c: Buffer) => { text += c.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, text }) })
    })
    r.on('error', reject)
    r.end(body)
  })
}

/** A stand-in for an active: counts what reaches it, answers with `handle`. */
async function fakeActive (t: Test, handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string, hits: Array<{ method: string, url: string, headers: IncomingMessage['headers'] }> }> {
  const hits: Array<{ method: string, url: string, headers: IncomingMessage['headers'] }> = []
  const server = createServer((req, res) => { hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers }); handle(req, res) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { server.closeAllConnections(); await new Promise(resolve => server.close(resolve)) })
  return { url: urlOf(server), hits }
}

// One full service for the first two tests (the second stops it): starting one is most of this file's time.
const { s, url: active } = await activeStack(t)

t.test('the same answer through the standby as from the active, and a write done once', async t => {
  const { url: via } = await standby(t, () => active)
  const both = async (method: string, path: string, opts: Parameters<typeof call>[3] = {}): Promise<[Answer, Answer]> =>
    [await call(active, method, path, opts), await call(via, method, path, opts)]

  await s.connectedCall('sb-1')
  for (const [method, path, opts] of [
    ['GET', '/v1/calls/sb-1', { token: TOKENS.supervisor }],
    ['GET', '/v1/agents', { token: TOKENS.supervisor }],
    ['HEAD', '/v1/agents', { token: TOKENS.supervisor }],
    ['OPTIONS', '/v1/agents', { token: TOKENS.supervisor }],
    ['GET', '/docs', {}],
    ['GET', '/v1/calls/sb-1', {}], // 401: no token
    ['GET', '/v1/calls/sb-1', { token: TOKENS.agent1002 }], // 403: another agent's call
    ['GET', '/v1/calls/nope', { token: TOKENS.supervisor }], // 404
    ['POST', '/v1/calls/sb-1/direct-transfer', { token: TOKENS.agent1001, json: { target: 3 } }], // 409: no inquiry, no consent
    ['POST', '/v1/calls/sb-1/direct-transfer', { token: TOKENS.agent1001, json: { target: '3' } }], // 400 naming the field
    ['POST', '/v1/calls/sb-1/consent', { token: TOKENS.agent1001, raw: '{"accepted": tr', headers: { 'content-type': 'application/json' } }], // malformed JSON
    ['GET', '/v1/dialplan/directory/3', { token: TOKENS.pbx }], // text/plain
    ['GET', '/v1/apkt/records?status=dead', { token: TOKENS.supervisor }], // a query string
    ['GET', '/v1/apkt/records?status=bogus', { token: TOKENS.supervisor }],
    ['GET', '/', {}], // a page
    ['GET', '/no-such-route', { token: TOKENS.supervisor }]
  ] as Array<[string, string, Parameters<typeof call>[3]]>) {
    const [direct, through] = await both(method, path, opts)
    t.equal(through.status, direct.status, `${method} ${path}: same status (${direct.status})`)
    t.equal(through.text, direct.text, `${method} ${path}: same body`)
    t.equal(through.headers.get('content-type'), direct.headers.get('content-type'), `${method} ${path}: same content type`)
    t.equal(through.headers.get('x-cti-via'), 'cti-b', 'names the standby that forwarded it')
    t.equal(direct.headers.get('x-cti-via'), null, 'the active does not (the header is the standby\'s)')
  }
  // /metrics counts requests, so two answers differ in their numbers, not their kind.
  const [dm, vm] = await both('GET', '/metrics', { token: TOKENS.supervisor })
  t.equal(vm.status, 200, '/metrics through the standby')
  t.equal(vm.headers.get('content-type'), dm.headers.get('content-type'))
  t.match(vm.text, /^# (HELP|TYPE) /m, 'Prometheus text, from the active')
  const [d401, v401] = await both('GET', '/v1/calls/sb-1')
  t.equal(v401.status, 401, 'without a token: 401 through the standby too')
  t.same(v401.body, d401.body)
  const [d409] = await both('POST', '/v1/calls/sb-1/direct-transfer', { token: TOKENS.agent1001, json: { target: 3 } })
  t.equal(d409.status, 409, 'the refusal compared above was a 409')

  // The button through the standby: one BlindTransfer on the active, the active's answer.
  await call(via, 'POST', '/v1/calls/sb-1/inquiry', { token: TOKENS.agent1001, json: { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } } })
  const consent = await call(via, 'POST', '/v1/calls/sb-1/consent', { token: TOKENS.agent1001, json: { accepted: true } })
  t.equal(consent.status, 200, 'consent recorded through the standby')
  const onActive = await call(active, 'GET', '/v1/calls/sb-1', { token: TOKENS.supervisor })
  t.equal(onActive.body.consent?.accepted, true, 'and visible directly on the active')
  const audit = await call(active, 'GET', '/v1/audit', { token: TOKENS.supervisor })
  t.equal(audit.status, 200)
  const consents = (audit.body.entries as Array<Record<string, unknown>>).filter(e => JSON.stringify(e).includes('sb-1') && JSON.stringify(e).toLowerCase().includes('consent'))
  t.equal(consents.length, 1, 'the consent was recorded once')

  const press = await call(via, 'POST', '/v1/calls/sb-1/direct-transfer', { token: TOKENS.agent1001, json: { target: 3 } })
  t.equal(press.status, 200, `the transfer through the standby: ${press.text}`)
  t.equal(press.body.transfer.status, 'completed')
  t.equal(s.fake.actionsNamed('BlindTransfer').length, 1, 'exactly one BlindTransfer reached Asterisk')
  const [again, againVia] = await both('POST', '/v1/calls/sb-1/direct-transfer', { token: TOKENS.agent1001, json: { target: 3 } })
  t.equal(againVia.status, again.status, `a second press: the same answer either way (${again.status})`)
  t.same(againVia.body, again.body)
  t.equal(s.fake.actionsNamed('BlindTransfer').length, 1, 'and still one BlindTransfer')

  // An admin write through the standby: created (201) once; a second would say 200 "changed".
  const unit = { unit: 'DISTRIBUSI JAKARTA RAYA', unitPelayanan: 'UP3 TANJUNG PRIOK' }
  const created = await call(via, 'PUT', '/v1/admin/agents/2001', { token: TOKENS.admin, json: { queues: ['pln123'], ...unit } })
  t.equal(created.status, 201, 'created through the standby, in one request')
  const listed = await call(active, 'GET', '/v1/admin/agents', { token: TOKENS.admin })
  t.ok((listed.body as Array<{ id: string }>).some(a => a.id === '2001'), 'the active lists it')

  // A body larger than the limit: the active refuses it, the same way through the standby.
  const big = JSON.stringify({ accepted: true, pad: 'x'.repeat(70_000) })
  const [dBig, vBig] = await both('POST', '/v1/calls/sb-1/consent', { token: TOKENS.agent1001, raw: big, headers: { 'content-type': 'application/json' } })
  t.equal(vBig.status, dBig.status, `an oversized body: ${dBig.status} either way`)
  t.equal(vBig.text, dBig.text)
})

t.test('GET /v1/events streams through the standby, and ends when the active goes', async t => {
  const { url: via } = await standby(t, () => active)
  const ctl = new AbortController()
  t.teardown(() => { ctl.abort() })
  const res = await fetch(`${via}/v1/events`, { headers: { authorization: `Bearer ${TOKENS.supervisor}` }, signal: ctl.signal })
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/event-stream/)
  const stream = frames(res)
  await stream.until(f => f.includes('event: snapshot'))
  t.pass('the snapshot came through')

  // A change caused by a write through the standby, seen on the stream through the standby.
  const offered = await call(via, 'POST', '/v1/cti/events', { token: TOKENS.pbx, json: { type: 'call.offered', callId: 'sse-sb', data: { callerIdNum: '0811', customerChannel: 'PJSIP/trunk-sse-sb' } } })
  t.equal(offered.status, 202)
  await stream.until(f => f.includes('event: call') && f.includes('"sse-sb"'))
  t.pass('the call\'s change was streamed as it happened')

  const status = await call(via, 'GET', '/v1/status', { token: TOKENS.supervisor })
  t.equal(status.body.forwarding.openStreams, 1, '/v1/status counts the stream forwarded')

  // The active stops: the stream through the standby ends (its client would reconnect).
  await s.svc.stop()
  await Promise.race([stream.ended, new Promise((_resolve, reject) => setTimeout(() => { reject(new Error('the stream did not end')) }, 5000))])
  t.pass('the stream ended with the active')
  const after = await call(via, 'GET', '/v1/calls/sse-sb', { token: TOKENS.supervisor })
  t.equal(after.status, 503, 'the active gone: 503')
  t.equal(after.body.error, 'NO_ACTIVE')
  t.equal(after.headers.get('retry-after'), '1')
})

t.test('no active known, or none answers: 503 NO_ACTIVE with Retry-After; readyz says so', async t => {
  let active: string | undefined
  const { url: via } = await standby(t, () => active)
  const none = await call(via, 'POST', '/v1/calls/x/direct-transfer', { token: TOKENS.agent1001, json: { target: 3 } })
  t.equal(none.status, 503)
  t.same(none.body, { error: 'NO_ACTIVE', message: 'no active instance of the group answers now; try again in a moment' })
  t.equal(none.headers.get('retry-after'), '1')
  const notReady = await call(via, 'GET', '/readyz')
  t.equal(notReady.status, 503)
  t.match(notReady.body, { status: 'no-active', role: 'standby', checks: { active: 'unknown' } })
  t.equal((await call(via, 'GET', '/healthz')).status, 200, 'healthz: the process lives')

  // An active known but not listening (it died): refused before anything was sent.
  const gone = createServer()
  await new Promise<void>(resolve => gone.listen(0, '127.0.0.1', resolve))
  const closedUrl = urlOf(gone)
  await new Promise(resolve => gone.close(resolve))
  active = closedUrl
  const refused = await call(via, 'POST', '/v1/calls/x/consent', { token: TOKENS.agent1001, json: { accepted: true } })
  t.equal(refused.status, 503, 'the active does not answer: 503')
  t.same(refused.body, { error: 'NO_ACTIVE', message: 'no active instance of the group answers now; try again in a moment' }, 'nothing was sent: the plain message')
  t.equal(refused.headers.get('retry-after'), '1')

  const ready = await call(via, 'GET', '/readyz')
  t.equal(ready.status, 200, 'an active is known: ready (it forwards)')
  t.same(ready.body, { status: 'ready', role: 'standby', checks: { active: 'ok' } })
  t.notMatch(ready.text + notReady.text, /127\.0\.0\.1|http:|cti-[ab]/, 'no URL, host or user in the public answers')

  const status = await call(via, 'GET', '/v1/status')
  t.equal(status.status, 401, '/v1/status needs a token')
  t.equal((await call(via, 'GET', '/v1/status', { token: TOKENS.agent1001 })).status, 403, 'a supervisor\'s')
  const st = await call(via, 'GET', '/v1/status', { token: TOKENS.supervisor })
  t.equal(st.status, 200)
  t.match(st.body, { role: 'standby', instanceId: 'cti-b', lease: { holder: 'cti-a' }, active: { known: true, url: closedUrl } })
  t.equal(st.body.instances.length, 2, 'the group\'s instances')
  t.match(st.body.instances[0], { id: 'cti-a', role: 'active', advertiseUrl: closedUrl })
  t.match(st.body, { ami: { ok: false, user: 'cti' }, store: { kind: 'sqlite' } }, 'no AMI session on a standby; the store named for supervisors')
})

t.test('never sent twice: a reset POST, a 503 to a GET, a timeout; a loop refused', async t => {
  const fake = await fakeActive(t, (req, res) => {
    if (req.url === '/v1/reset') { req.socket.destroy(); return }
    if (req.url === '/v1/busy') { res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' }).end('{"error":"STORE_UNAVAILABLE","message":"x"}'); return }
    if (req.url === '/v1/slow') return // never answers
    let n = 0
    req.on('data', (c: Buffer) => { n += c.length })
    req.on('end', () => { res.writeHead(201, { 'content-type': 'application/json', 'x-seen': String(n) }).end(JSON.stringify({ method: req.method, url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], bytes: n })) })
  })
  const { url: via } = await standby(t, () => fake.url, { timeoutMs: 500 })
  const hitsOn = (path: string): number => fake.hits.filter(h => h.url === path).length

  const reset = await call(via, 'POST', '/v1/reset', { token: TOKENS.agent1001, json: { target: 3 } })
  t.equal(reset.status, 503, 'the active reset the connection after the request: 503')
  t.equal(reset.body.error, 'NO_ACTIVE')
  t.match(reset.body.message, /may have reached it/, 'says the request may have been done')
  await new Promise(resolve => setTimeout(resolve, 300))
  t.equal(hitsOn('/v1/reset'), 1, 'the POST reached the active once, never again')

  const busy = await call(via, 'GET', '/v1/busy', { token: TOKENS.supervisor })
  t.equal(busy.status, 503, 'the active\'s own 503 is passed back')
  t.equal(busy.body.error, 'STORE_UNAVAILABLE', 'with its body')
  await new Promise(resolve => setTimeout(resolve, 300))
  t.equal(hitsOn('/v1/busy'), 1, 'a GET answered 503 is not asked again')

  const slow = await call(via, 'POST', '/v1/slow', { token: TOKENS.agent1001, json: { target: 3 } })
  t.equal(slow.status, 503, 'no answer in time: 503')
  t.equal(slow.body.error, 'ACTIVE_TIMEOUT')
  t.match(slow.body.message, /did not answer within 500 ms/)
  t.equal(slow.headers.get('retry-after'), '1')
  t.equal(hitsOn('/v1/slow'), 1, 'sent once')

  const echo = await call(via, 'PATCH', '/v1/echo?a=1&b=%20x', { token: TOKENS.admin, raw: 'not json at all', headers: { 'content-type': 'text/x-whatever' } })
  t.equal(echo.status, 201)
  t.same(echo.body, { method: 'PATCH', url: '/v1/echo?a=1&b=%20x', auth: `Bearer ${TOKENS.admin}`, type: 'text/x-whatever', bytes: 15 }, 'method, path, query, token, content type and body passed unchanged')
  const hit = fake.hits.find(h => h.url.startsWith('/v1/echo'))
  t.equal(hit?.headers['x-cti-forwarded-by'], 'cti-b', 'marked as forwarded')

  // What fetch cannot send: a GET with a body (the active would ignore it, so is it here),
  // and a body without a content type (passed on as it is).
  const getWithBody = await rawRequest(`${via}/v1/get-body`, 'GET', { 'content-type': 'application/json', 'content-length': '2' }, '{}')
  t.equal(getWithBody.status, 201, `a GET with a body is forwarded (${getWithBody.text})`)
  t.equal(JSON.parse(getWithBody.text).bytes, 0, 'without the body it ignores')
  const noType = await rawRequest(`${via}/v1/no-type`, 'POST', { 'content-length': '3' }, 'abc')
  t.equal(noType.status, 201)
  t.same(JSON.parse(noType.text), { method: 'POST', url: '/v1/no-type', bytes: 3 }, 'a body without a content type is passed on too')
  // curl sends Expect: 100-continue with bodies over 1 KB: the standby's server answers
  // the 100 itself, and the request is forwarded all the same.
  const expecting = await rawRequest(`${via}/v1/expect`, 'POST', { 'content-type': 'application/json', 'content-length': '2000', expect: '100-continue' }, 'x'.repeat(2000))
  t.equal(expecting.status, 201, `Expect: 100-continue is forwarded (${expecting.text})`)
  t.equal(JSON.parse(expecting.text).bytes, 2000)
  const hop = await rawRequest(`${via}/v1/hop`, 'POST', { 'content-type': 'application/json', connection: 'close', 'keep-alive': 'timeout=5' }, '{}')
  t.equal(hop.status, 201, `a hop-by-hop header of the client's connection stays here (${hop.text})`)

  const loop = await call(via, 'GET', '/v1/agents', { token: TOKENS.supervisor, headers: { 'x-cti-forwarded-by': 'cti-c' } })
  t.equal(loop.status, 503, 'a request another instance forwarded is not forwarded again')
  t.equal(loop.body.error, 'NO_ACTIVE')
  t.equal(hitsOn('/v1/agents'), 0)
})

t.test('a stream from an active that froze ends once another active is known', async t => {
  const frozen = await fakeActive(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('retry: 2000\nevent: snapshot\ndata: {}\n\n') // then silence
  })
  let active: string | undefined = frozen.url
  const { url: via, sb } = await standby(t, () => active)
  const ctl = new AbortController()
  t.teardown(() => { ctl.abort() })
  const res = await fetch(`${via}/v1/events`, { headers: { authorization: `Bearer ${TOKENS.supervisor}` }, signal: ctl.signal })
  const stream = frames(res)
  await stream.until(f => f.includes('snapshot'))
  active = 'http://127.0.0.1:1' // the group now names another active
  await Promise.race([stream.ended, new Promise((_resolve, reject) => setTimeout(() => { reject(new Error('the stream did not end')) }, 5000))])
  t.pass('the stream ended: its client reconnects and finds the new active')

  // release() (this instance became active): the streams it forwards end (their clients
  // reconnect, to it), and the port is free at once for the full app.
  active = frozen.url
  const res2 = await fetch(`${via}/v1/events`, { headers: { authorization: `Bearer ${TOKENS.supervisor}` }, signal: ctl.signal })
  const stream2 = frames(res2)
  await stream2.until(f => f.includes('snapshot'))
  const { port } = sb.app.server.address() as AddressInfo
  const { closed } = await sb.release()
  const taker = createNetServer()
  await new Promise<void>((resolve, reject) => { taker.once('error', reject); taker.listen(port, '127.0.0.1', resolve) })
  t.pass('the port could be bound by the next app')
  await Promise.race([stream2.ended, new Promise((_resolve, reject) => setTimeout(() => { reject(new Error('the stream did not end at release')) }, 5000))])
  t.pass('the forwarded stream ended at release')
  await closed
  t.pass('and the standby app closed')
  await new Promise(resolve => taker.close(resolve))
})
