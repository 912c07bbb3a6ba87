// A PostgreSQL server unreachable when the service starts (it came up first, or the
// database is restarting): the service waits for it, logging each try, and starts once
// it answers; it does not exit.
import t from 'tap'
import pino from 'pino'
import { Writable } from 'node:stream'
import { createService } from '../../src/service.ts'
import { FakeAmi } from '../helpers/fake-ami.ts'
import { testConfig } from '../helpers/config.ts'
import { waitFor } from '../helpers/ami.ts'
import { storeEnv } from '../helpers/engines.ts'
import { needPostgres } from '../helpers/postgres.ts'

t.test('postgres: the database is down at start; the service waits for it, then starts', async t => {
  const env = await storeEnv(t, 'postgres')
  if (env === undefined) return
  const cluster = await needPostgres(t)
  if (cluster === undefined) return
  const fake = await FakeAmi.start()
  t.teardown(async () => { await fake.stop() })
  await cluster.stop('fast')
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({ write (chunk: Buffer, _enc, done) { for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>); done() } })
  let started = false
  const creating = createService(testConfig(fake.port, () => {}, env), pino({ level: 'info' }, sink)).then(svc => { started = true; return svc })
  await waitFor('a try logged', () => lines.find(l => l.msg === 'database unreachable at start: trying again'), 20_000)
  t.equal(started, false, 'not started without its database')
  t.notOk(JSON.stringify(lines).includes(String(env.CTI_STORE_URL)), 'the URL (with its password) is not logged')
  await cluster.start()
  const svc = await creating
  t.teardown(async () => { await svc.stop() })
  await svc.start()
  t.equal(svc.store.kind, 'postgres')
  await svc.store.check()
  t.pass('started once the database answered, and it takes writes')
})
