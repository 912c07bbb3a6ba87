// A PostgreSQL server unreachable when the service starts (it came up first, or the
// database is restarting or frozen): the service waits for it, logging each try, and
// starts once it answers; it does not exit. Meanwhile the port answers (a starting app,
// src/http/starting.ts): /healthz 200, /readyz 503 and every other route 503
// STORE_UNAVAILABLE, each saying why in words.
import t from 'tap'
import pino from 'pino'
import { Writable } from 'node:stream'
import { createService } from '../../src/service.ts'
import { buildStartingApp } from '../../src/http/starting.ts'
import { FakeAmi } from '../helpers/fake-ami.ts'
import { baseRawConfig, testConfig, TOKENS } from '../helpers/config.ts'
import { eventually, waitFor } from '../helpers/ami.ts'
import { freePort } from '../pbx/sandbox.ts'
import { http, spawnService, stopProc, writeConfig, type HttpAnswer, type Proc } from '../faults/lib.ts'
import { storeEnv } from '../helpers/engines.ts'
import { needPostgres } from '../helpers/postgres.ts'

// In process, with the real server frozen (it accepts connections and never answers):
// each try to open the store times out, the starting app says so in words, nothing is
// built meanwhile, and once the server thaws the service is built and takes writes.
t.test('postgres frozen at start: the starting app answers why; once thawed the service is built and takes writes', async t => {
  const env = await storeEnv(t, 'postgres')
  if (env === undefined) return
  const cluster = await needPostgres(t)
  if (cluster === undefined) return
  const fake = await FakeAmi.start()
  t.teardown(async () => { await fake.stop() })
  const config = testConfig(fake.port, () => {}, env)
  const starting = await buildStartingApp(config, { ami: { host: '127.0.0.1', port: fake.port, user: 'cti' }, store: { kind: 'postgres', where: 'the-test' } }, 'the-test')
  t.teardown(async () => { await starting.app.close() })
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({ write (chunk: Buffer, _enc, done) { for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>); done() } })
  cluster.freeze()
  t.teardown(() => { cluster.thaw() })
  let built = false
  const creating = createService(config, pino({ level: 'info' }, sink), { storeWait: { onRetry: starting.onRetry } }).then(svc => { built = true; return svc })
  const first = await starting.app.inject({ url: '/readyz' })
  t.match(first.json(), { status: 'starting', checks: { store: { ok: false, reason: 'it is being opened' } } }, 'before the first try fails: being opened')
  await waitFor('a try timed out', () => lines.find(l => l.msg === 'database unreachable at start: trying again'), 20_000)
  const ready = await starting.app.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 503)
  t.match(ready.json(), { status: 'starting', checks: { store: { ok: false, reason: 'the database cannot be reached' } } }, `the reason in words: ${ready.body}`)
  const write = await starting.app.inject({ method: 'POST', url: '/v1/cti/events', headers: { authorization: `Bearer ${TOKENS.pbx}` }, payload: { type: 'call.offered', callId: 'frozen-1' } })
  t.match({ status: write.statusCode, body: write.json() }, { status: 503, body: { error: 'STORE_UNAVAILABLE', message: /the database cannot be reached/ } })
  t.equal(built, false, 'nothing is built without the store')
  t.notOk(JSON.stringify(lines).includes(String(env.CTI_STORE_URL)), 'the URL (with its password) is not logged')
  cluster.thaw()
  const svc = await creating
  t.teardown(async () => { await svc.stop() })
  await svc.start({ beforeListen: async () => { await starting.app.close() } })
  t.equal(svc.store.kind, 'postgres')
  await svc.store.check()
  t.pass('built once the server answered, and it takes writes')
})

// In process, the server refusing this database's connections (CONNECTION LIMIT 0, as a
// DBA may set while working on it): each try is refused at once, the starting app says
// so in its own words, and once the limit is lifted the service is built.
t.test('postgres refusing connections at start: the starting app says the database refuses them; once lifted the service is built', async t => {
  const env = await storeEnv(t, 'postgres')
  if (env === undefined) return
  const cluster = await needPostgres(t)
  if (cluster === undefined) return
  const database = new URL(String(env.CTI_STORE_URL)).pathname.slice(1)
  const fake = await FakeAmi.start()
  t.teardown(async () => { await fake.stop() })
  const config = testConfig(fake.port, () => {}, env)
  const starting = await buildStartingApp(config, { ami: { host: '127.0.0.1', port: fake.port, user: 'cti' }, store: { kind: 'postgres', where: 'the-test' } }, 'the-test')
  t.teardown(async () => { await starting.app.close() })
  await cluster.connectionLimit(database, 0)
  t.teardown(async () => { await cluster.connectionLimit(database, -1).catch(() => {}) })
  const creating = createService(config, pino({ level: 'silent' }), { storeWait: { onRetry: starting.onRetry } })
  await waitFor('a try refused', () => starting.reason() !== 'it is being opened' ? true : undefined, 20_000)
  const ready = await starting.app.inject({ url: '/readyz' })
  t.match({ status: ready.statusCode, body: ready.json() }, { status: 503, body: { status: 'starting', checks: { store: { ok: false, reason: 'the database refuses new connections' } } } }, `the reason in words: ${ready.body}`)
  const status = await starting.app.inject({ url: '/v1/status', headers: { authorization: `Bearer ${TOKENS.supervisor}` } })
  t.match(status.json(), { status: 'starting', store: { ok: false, detail: /^waiting to open: the database refuses new connections \(53300: / } }, 'supervisors get the driver\'s code and words')
  await cluster.connectionLimit(database, -1)
  const svc = await creating
  t.teardown(async () => { await svc.stop() })
  await svc.store.check()
  t.pass('built once the limit was lifted, and it takes writes')
})

// The real process (src/server.ts) with its database down: the port answers from the
// start (a load balancer sees a live process that is not ready, not a dead port), every
// answer says why in words, none names the URL or its password, and once the database
// is up the full service takes the same port in the same process.
t.test('postgres, a real process: while the database is down it answers 503 naming the store; once it is up, the full service on the same port', async t => {
  const env = await storeEnv(t, 'postgres')
  if (env === undefined) return
  const cluster = await needPostgres(t)
  if (cluster === undefined) return
  const url = String(env.CTI_STORE_URL)
  const password = decodeURIComponent(new URL(url).password)
  t.ok(password.length >= 8, 'the database URL carries a password to look for')
  const fake = await FakeAmi.start()
  t.teardown(async () => { await fake.stop() })
  await cluster.stop('fast')
  t.teardown(async () => { await cluster.start().catch(() => {}) }) // for the file's other tests, whatever happened here

  const spawnDown = async (): Promise<{ p: Proc, base: string }> => {
    const raw = baseRawConfig(fake.port)
    raw.http.port = await freePort()
    raw.log.level = 'info'
    const p = spawnService({ configFile: writeConfig(raw), env: { CTI_STORE_KIND: 'postgres', CTI_STORE_URL: url } })
    t.teardown(async () => { await stopProc(p) })
    const base = `http://127.0.0.1:${raw.http.port as number}`
    // Generous: a process that never answers fails here with its output, a slow one (a loaded machine) does not.
    await eventually('the port answers', async () => (await http(base, 'GET', '/healthz')).status === 200, 60_000)
      .catch((err: Error) => { throw new Error(`${err.message}; its output:\n${p.out().slice(-3000)}`) })
    await waitFor('a failed try logged', () => p.lines().some(l => l.msg === 'database unreachable at start: trying again'), 10_000)
    return { p, base }
  }

  // Two processes at once: one to follow to the end, one for SIGTERM during the wait.
  const [{ p, base }, other] = await Promise.all([spawnDown(), spawnDown()])
  const answers: HttpAnswer[] = []
  const ask = async (method: 'GET' | 'POST', path: string, token?: string, body?: unknown): Promise<HttpAnswer> => {
    const a = await http(base, method, path, token, body)
    answers.push(a)
    return a
  }

  t.equal((await ask('GET', '/healthz')).status, 200, '/healthz: the process lives')
  const ready = await ask('GET', '/readyz')
  t.equal(ready.status, 503, '/readyz: not ready')
  t.match(ready.body, { status: 'starting', role: 'single', checks: { ami: { ok: false }, store: { ok: false, reason: 'the database cannot be reached' } } }, `/readyz names the store and why: ${JSON.stringify(ready.body)}`)
  const write = await ask('POST', '/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'at-start-1', data: { callerIdNum: '0811' } })
  t.equal(write.status, 503, 'a write route: 503')
  t.match(write.body, { error: 'STORE_UNAVAILABLE', message: /the database cannot be reached/ }, 'STORE_UNAVAILABLE with the reason')
  const press = await ask('POST', '/v1/calls/at-start-1/direct-transfer', TOKENS.agent1001, 'not even JSON')
  t.match(press, { status: 503, body: { error: 'STORE_UNAVAILABLE' } }, 'the button too, whatever its body')
  t.equal((await ask('GET', '/v1/agents', TOKENS.supervisor)).status, 503, 'a read route: 503 (nothing is loaded yet)')
  t.equal((await ask('GET', '/v1/admin/agents', TOKENS.admin)).status, 503, 'an admin route: 503 too, not 403 (every role is known while waiting)')
  t.equal((await ask('POST', '/v1/cti/events', undefined, { type: 'call.offered', callId: 'x' })).status, 401, 'no token: 401, as in the full service')
  t.equal((await ask('POST', '/v1/cti/events', 'not-a-known-token-0123456789')).status, 401, 'an unknown token: 401')
  t.equal((await ask('GET', '/v1/status')).status, 401, '/v1/status needs a token')
  t.equal((await ask('GET', '/v1/status', TOKENS.agent1001)).status, 403, 'and a supervisor one')
  const status = await ask('GET', '/v1/status', TOKENS.supervisor)
  t.equal(status.status, 200)
  t.match(status.body, {
    role: 'single',
    status: 'starting',
    ami: { ok: false, host: '127.0.0.1', port: fake.port, user: 'cti' },
    store: { kind: 'postgres', where: `${cluster.host}:${cluster.port}/${new URL(url).pathname.slice(1)}`, ok: false, detail: /^waiting to open: the database cannot be reached .*tr(y|ies) failed since .*the next at /, attempts: Number, waitingSince: String, nextTryAt: String }
  }, `/v1/status: the store is waited for, and why: ${JSON.stringify(status.body.store)}`)
  t.equal(fake.actionsNamed('login').length, 0, 'AMI is not logged in to before the store is open')

  await t.test('SIGTERM while the database is waited for: exit 0, before the forced-shutdown timer', async t => {
    other.p.child.kill('SIGTERM')
    const { code } = await other.p.exit
    t.equal(code, 0, 'exit 0 (the forced shutdown exits 1)')
    t.match(other.p.out(), /"msg":"stopped"/)
    t.notMatch(other.p.out(), /forced shutdown|killed by timeout/)
  })

  // Every probe answers during the wait: never a refused connection, never a hang.
  const probes = await Promise.all(Array.from({ length: 20 }, async () => await ask('GET', '/readyz')))
  t.same([...new Set(probes.map(a => a.status))], [503], '20 probes at once: each answered 503')

  await cluster.start()
  // Across the hand-over: a probe that finds the port closed (the milliseconds between the
  // starting app's release and the full app's bind) or is reset (it was in the accept
  // queue then) is counted, not asserted.
  const refused: string[] = []
  const readyAgain = await eventually('/readyz 200 once the database is up', async () => {
    try {
      const r = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(5000) })
      return r.status === 200 ? { body: await r.json() as unknown } : undefined
    } catch (err) {
      refused.push(String((err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message))
      return undefined
    }
  }, 20_000)
  t.comment(`probes without an answer across the hand-over: ${refused.length} ${JSON.stringify(refused)}`)
  t.same(readyAgain.body, { status: 'ready', role: 'single', checks: { ami: { ok: true }, store: { ok: true } } }, 'ready: the full service, its store open and AMI logged in')
  const offered = await ask('POST', '/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'at-start-2', data: { callerIdNum: '0811' } })
  t.equal(offered.status, 202, `a write route works: ${JSON.stringify(offered.body)}`)
  const call = await ask('GET', '/v1/calls/at-start-2', TOKENS.supervisor)
  t.match(call, { status: 200, body: { callId: 'at-start-2', state: 'offered' } }, 'and it was recorded')
  const listening = p.lines().find(l => l.msg === 'pln123-cti listening')
  t.ok(listening, 'the full service listens')
  t.comment(`the port was closed for ${String(listening?.handOverMs)} ms between the two apps`)
  t.equal(p.lines().filter(l => l.msg === 'pln123-cti answering while its store opens (503 until it does)').length, 1, 'in the same process')

  for (const [name, secret] of [['the URL', url], ['its password', password]] as const) {
    t.same(answers.filter(a => JSON.stringify(a.body).includes(secret)).length, 0, `no answer holds ${name}`)
    t.notOk(p.out().includes(secret), `the log does not hold ${name}`)
  }
  p.child.kill('SIGTERM')
  t.equal((await p.exit).code, 0, 'SIGTERM once running: exit 0')
})
