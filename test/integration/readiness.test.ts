// /readyz is public and may be polled by every load balancer and anyone who reaches
// the port: it must stay cheap (the store's check is a durable write, so it runs at
// most once a second however many probes come) and say only WHICH dependency is down.
// The details (AMI user and host, store path, driver text) are for supervisors, at
// GET /v1/status.
import t from 'tap'
import pino from 'pino'
import Database from 'better-sqlite3'
import { createService } from '../../src/service.ts'
import { Readiness } from '../../src/http/readiness.ts'
import { FakeAmi } from '../helpers/fake-ami.ts'
import { TOKENS, testConfig } from '../helpers/config.ts'
import { startAppStack } from '../helpers/app-stack.ts'
import { eventually } from '../helpers/ami.ts'

t.test('100 /readyz, one after another and 50 at once: the store check runs at most once a second', async t => {
  const s = await startAppStack(t)
  const store = s.svc.store
  const real = store.check.bind(store)
  const calls: number[] = []
  store.check = async () => { calls.push(Date.now()); await real() }
  const started = Date.now()
  const statuses: number[] = []
  for (let i = 0; i < 50; i++) statuses.push((await s.get('/readyz')).status)
  statuses.push(...(await Promise.all(Array.from({ length: 50 }, async () => (await s.get('/readyz')).status))))
  const elapsed = Date.now() - started
  t.same([...new Set(statuses)], [200], 'every probe answered 200')
  t.ok(calls.length >= 1, `the store was checked (${calls.length} times)`)
  t.ok(calls.length <= Math.floor(elapsed / 1000) + 1, `${calls.length} store checks (durable writes) for 100 probes over ${elapsed} ms: at most one per second window`)
  const gaps = calls.slice(1).map((at, i) => at - (calls[i] as number))
  t.same(gaps.filter(g => g < 1000), [], `no two checks less than a second apart (gaps ${gaps.join(', ')} ms)`)
})

t.test('Readiness: a slow store check is shared by every probe that arrives meanwhile, and refreshed once its result is a second old', async t => {
  let now = 0
  let checks = 0
  let release: () => void = () => {}
  const r = new Readiness({
    ami: { status: () => ({ state: 'connected', since: '2026-12-02T00:00:00.000Z', connects: 1, reconnectAttempts: 0 }) },
    store: { check: async () => { checks++; await new Promise<void>(resolve => { release = resolve }) } }
  }, { now: () => now })
  const waiting = Array.from({ length: 100 }, async () => await r.current())
  await new Promise(resolve => setImmediate(resolve))
  t.equal(checks, 1, 'one check in flight for 100 probes')
  release()
  const results = await Promise.all(waiting)
  t.ok(results.every(x => x.store.ok && x.ami.ok), 'all of them got its result')
  now = 999
  await r.current()
  t.equal(checks, 1, 'within the second: the cached result')
  now = 1000
  const next = r.current()
  await new Promise(resolve => setImmediate(resolve))
  release()
  await next
  t.equal(checks, 2, 'a second later: checked again')
})

t.test('public /readyz names only what is down; the AMI user, host, port, store path and driver text are for GET /v1/status', async t => {
  const USER = 'cti-probe-user-7q'
  const fake = await FakeAmi.start({ rejectLogin: 'Authentication failed' })
  const config = testConfig(fake.port, raw => { raw.ami.username = USER; raw.ami.reconnect = { initialMs: 100, maxMs: 200 } })
  const svc = await createService(config, pino({ level: 'silent' }))
  t.teardown(async () => { await svc.stop(); await fake.stop() })
  await svc.start()
  await eventually('login refused', async () => /login refused/.test(svc.ami.status().lastError ?? '') ? true : undefined)
  const secrets = [USER, '127.0.0.1', String(fake.port), config.store.path, 'login refused', 'Authentication failed']
  const leaks = (body: string): string[] => secrets.filter(x => body.includes(x))

  const amiDown = await svc.app.inject({ url: '/readyz' })
  t.equal(amiDown.statusCode, 503)
  t.same(amiDown.json(), { error: 'NOT_READY', message: 'not ready: ami', checks: { ami: { ok: false }, store: { ok: true } } }, 'names ami, nothing more')
  t.same(leaks(amiDown.body), [], 'no user, host, port, path or error text in the public answer')

  // The store fails too, with the kind of text a driver writes (code, path).
  svc.store.check = async () => { throw Object.assign(new Error(`SQLITE_IOERR: disk I/O error writing ${config.store.path}`), { code: 'SQLITE_IOERR' }) }
  const both = await eventually('store seen down', async () => {
    const r = await svc.app.inject({ url: '/readyz' })
    return r.json().checks.store.ok === false ? r : undefined
  }, 5000)
  t.same(both.json(), { error: 'NOT_READY', message: 'not ready: ami, store', checks: { ami: { ok: false }, store: { ok: false } } })
  t.same(leaks(both.body).concat(/SQLITE|I\/O/.test(both.body) ? ['driver text'] : []), [], 'no driver text or path either')

  t.equal((await svc.app.inject({ url: '/v1/status' })).statusCode, 401, '/v1/status needs a token')
  t.equal((await svc.app.inject({ url: '/v1/status', headers: { authorization: `Bearer ${TOKENS.agent1001}` } })).statusCode, 403, 'and a supervisor one')
  const status = await svc.app.inject({ url: '/v1/status', headers: { authorization: `Bearer ${TOKENS.supervisor}` } })
  t.equal(status.statusCode, 200)
  const body = status.json()
  t.match(body, {
    role: 'single',
    ami: { ok: false, state: /disconnected|connecting/, lastError: new RegExp(`login refused for user "${USER}": Authentication failed`), host: '127.0.0.1', port: fake.port, user: USER, connects: Number },
    store: { kind: 'sqlite', where: config.store.path, ok: false, detail: /SQLITE_IOERR: disk I\/O error/, checkedAt: String },
    lease: null,
    instances: [{ id: String, role: 'single', lastSeenAt: String }]
  }, 'the supervisor sees the details')
  t.equal(body.instances.length, 1, 'a single instance is its own group')
  t.notOk('path' in body.store, 'the store is named by kind and where, no path field')
})

t.test('ready: 200 with status, role and each check ok (the fields clients already read)', async t => {
  const s = await startAppStack(t)
  const r = await s.get('/readyz')
  t.equal(r.status, 200)
  t.same(r.body, { status: 'ready', role: 'single', checks: { ami: { ok: true }, store: { ok: true } } })
  const st = await s.get('/v1/status', TOKENS.supervisor)
  t.match(st.body, { role: 'single', ami: { ok: true, state: 'connected', user: 'cti' }, store: { ok: true, detail: 'open' } })
})

t.test('the store is ready only while the journal writes: an outage makes /readyz say store though the engine\'s own check passes, until the kept changes are written', async t => {
  const s = await startAppStack(t)
  const store = s.svc.store
  const real = store.commit.bind(store)
  let full = true
  let refused = 0
  // Every write fails as a full disk would; the engine's check (its own cheap write) is left alone.
  store.commit = async changes => {
    if (full) { refused++; throw new Database.SqliteError('database or disk is full', 'SQLITE_FULL') }
    await real(changes)
  }
  const offered = await s.post('/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'ready-kept-1', data: { callerIdNum: '0811', customerChannel: 'PJSIP/trunk-ready-kept-1' } })
  t.equal(offered.status, 503, 'the event is not confirmed while the store refuses writes')
  t.equal(offered.body.error, 'STORE_UNAVAILABLE')
  t.ok(refused >= 1, 'the journal tried to write it')
  await store.check() // the engine itself answers
  const down = await eventually('/readyz to say store', async () => {
    const r = await s.get('/readyz')
    return r.status === 503 ? r : undefined
  }, 5000)
  t.same(down.body, { error: 'NOT_READY', message: 'not ready: store', checks: { ami: { ok: true }, store: { ok: false } } })
  const status = await s.get('/v1/status', TOKENS.supervisor)
  t.match(status.body.store, { kind: 'sqlite', ok: false, detail: /waiting to be written/ }, 'the supervisor sees why: changes waiting')
  const again = await s.post('/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'ready-refused-2', data: { callerIdNum: '0812', customerChannel: 'PJSIP/trunk-ready-refused-2' } })
  t.equal(again.status, 503, 'during the outage an event is refused at once')
  t.equal(again.body.error, 'STORE_UNAVAILABLE')

  full = false
  await eventually('/readyz ready again', async () => (await s.get('/readyz')).status === 200 ? true : undefined, 10_000)
  t.match(await store.calls.get('ready-kept-1'), { callId: 'ready-kept-1', state: 'offered' }, 'the change kept through the outage was written')
  t.equal(await store.calls.get('ready-refused-2'), undefined, 'the refused one was not')
})
