// The full service as an HA group's active (createService with a group, as src/ha/runner.ts
// builds it) on a real PostgreSQL, with a real lease keeper whose monotonic clock the test
// moves: the process "wakes up" past its lease before any of its timers ran, which is the
// moment a frozen active is most dangerous. From then on a request that would act on the
// PBX sends nothing (the AMI gate), a commit writes nothing (the fence), and the APKT
// dispatcher claims nothing; /readyz stops saying ready.
import t from 'tap'
import pino from 'pino'
import { Writable } from 'node:stream'
import { LeaseKeeper } from '../../src/ha/lease.ts'
import { silentLog } from '../../src/log.ts'
import { createService } from '../../src/service.ts'
import { apktMigrations } from '../../src/apkt/migrations.ts'
import { migrations } from '../../src/store/migrations.ts'
import { openGroupPort } from '../../src/store/postgres/group-port.ts'
import { FakeAmi } from '../helpers/fake-ami.ts'
import { testConfig, TOKENS } from '../helpers/config.ts'
import { waitFor } from '../helpers/ami.ts'
import { storeEnv } from '../helpers/engines.ts'
import { asteriskLike } from '../faults/lib.ts'

const LEASE_MS = 2000

t.test('an active past its lease by its own clock: no AMI action, no commit, not ready', async t => {
  const env = await storeEnv(t, 'postgres')
  if (env === undefined) return
  const fake = await FakeAmi.start({ handler: asteriskLike() })
  t.teardown(async () => { await fake.stop() })
  const config = testConfig(fake.port, raw => { raw.ha = { instanceId: 'cti-x', advertiseUrl: 'http://127.0.0.1:1', leaseMs: LEASE_MS } }, env)
  const port = await openGroupPort({ url: String(env.CTI_STORE_URL), leaseMs: LEASE_MS, log: silentLog }, [...migrations, ...apktMigrations])
  t.teardown(async () => { await port.close() })
  let skew = 0
  // Not started: no renewal timers, the lease changes only through tick() and the clock.
  const keeper = new LeaseKeeper({ port: port.lease, instanceId: 'cti-x', advertiseUrl: 'http://127.0.0.1:1', leaseMs: LEASE_MS, log: silentLog, now: () => performance.now() + skew })
  await keeper.tick()
  t.equal(keeper.currentRole, 'active', 'the keeper holds the lease')

  const lines: Array<{ level: number, msg?: string }> = []
  const sink = new Writable({ write (chunk: Buffer, _enc, done) { for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as { level: number, msg?: string }); done() } })
  const svc = await createService(config, pino({ level: 'warn' }, sink), {
    group: { keeper, status: async () => ({ role: keeper.currentRole, ...await port.holder().then(h => ({ leaseHolder: h.holder, leaseExpiresAt: h.expiresAt })), instances: await port.lease.members() }) }
  })
  t.teardown(async () => { await svc.stop() })
  await svc.start()
  await waitFor('AMI', () => svc.ami.ready)
  await waitFor('the resync after login', () => fake.actionsNamed('QueueStatus').length > 0 ? true : undefined)
  const ask = async (method: 'GET' | 'POST', url: string, token?: string, payload?: unknown) => await svc.app.inject({ method, url, ...(token !== undefined ? { headers: { authorization: `Bearer ${token}` } } : {}), ...(payload !== undefined ? { payload: payload as object } : {}) })

  // While it may act: the same requests act.
  await keeper.tick() // renewed now: the whole lease ahead
  const ready = await ask('GET', '/readyz')
  t.match({ status: ready.statusCode, body: ready.json() }, { status: 200, body: { status: 'ready', role: 'active' } }, '/readyz: ready, active')
  const status = await ask('GET', '/v1/status', TOKENS.supervisor)
  t.match(status.json(), { role: 'active', lease: { holder: 'cti-x', expiresAt: String }, instances: [{ id: 'cti-x', role: 'active', advertiseUrl: 'http://127.0.0.1:1' }] }, '/v1/status: role, lease and the roll call')
  const paused = await ask('POST', '/v1/agents/1001/pause', TOKENS.agent1001, { reason: 'ISTIRAHAT' })
  t.equal(paused.statusCode, 200, `paused while active: ${paused.body}`)
  t.equal(fake.actionsNamed('QueuePause').length, 1, 'with a QueuePause')
  t.equal((await ask('POST', '/v1/agents/1001/ready', TOKENS.agent1001)).statusCode, 200)
  t.equal(fake.actionsNamed('QueuePause').length, 2, 'and the unpause')
  const audit = { kind: 'audit' as const, entry: { actor: 'test', role: 'system', action: 'ha.test', target: 't' }, at: new Date().toISOString() }
  await svc.store.commit([audit])
  t.pass('a commit while active lands')

  // The process "was frozen": its clock is past the lease before any timer of it ran.
  skew += LEASE_MS + 1000
  const before = fake.received.length
  const refused = await ask('POST', '/v1/agents/1001/pause', TOKENS.agent1001, { reason: 'ISTIRAHAT' })
  t.equal(refused.statusCode, 503, `refused: ${refused.body}`)
  t.match(refused.json(), { message: /not the active instance of its HA group/ }, 'saying why')
  await svc.ami.action('Ping') // a round trip: what was written before has arrived
  t.notOk(/QueuePause/i.test(fake.received.slice(before)), 'no QueuePause reached Asterisk')
  t.equal(fake.actionsNamed('QueuePause').length, 2, 'still the two from before')
  t.equal(keeper.currentRole, 'standby', 'the keeper knows it may not act')
  await t.rejects(svc.store.commit([{ ...audit, at: new Date().toISOString() }]), { name: 'FencedError' }, 'a commit is fenced')
  const write = await ask('POST', '/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'fenced-1', data: { callerIdNum: '0811' } })
  t.match({ status: write.statusCode, body: write.json() }, { status: 503, body: { error: 'STORE_UNAVAILABLE' } }, `a write request: 503, not recorded: ${write.body}`)
  t.ok(lines.some(l => l.msg === 'a change not recorded: this instance no longer holds the HA lease (its successor acts now)'), 'the refused change is logged as fenced')
  t.notOk(lines.some(l => /\(a bug\)/.test(l.msg ?? '')), 'not as a bug')
  const notReady = await ask('GET', '/readyz')
  t.equal(notReady.statusCode, 503, `/readyz: not ready once the lease is lost: ${notReady.body}`)
})
