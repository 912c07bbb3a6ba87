// `pln123-cti apkt list|retry|export` on a real store file: in-process for the
// details, and through the real executable for the wiring (shebang, tsx, exit codes).
import { execFile } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import type { OutboxEntry } from '../../src/apkt/outbox.ts'
import { apktCommand } from '../../src/cli/apkt.ts'
import { main } from '../../src/cli/main.ts'
import { makeRecord, openApktStore, openOutbox } from '../helpers/apkt.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/** A store with one record in each state, oldest first: delivered, dead, pending. */
async function seed (t: Test) {
  const file = path.join(t.testdir(), 'cti.db')
  const store = await openApktStore(file)
  const outbox = openOutbox(store)
  const delivered = makeRecord({ callId: 'c-delivered', agentId: '1001' })
  const dead = makeRecord({ callId: 'c-dead', agentId: '1002' })
  const pending = makeRecord({ callId: 'c-pending', agentId: '1003' })
  await outbox.add(delivered, 'c-delivered:transfer')
  await outbox.add(dead, 'c-dead:transfer')
  await outbox.add(pending, 'c-pending:transfer')
  await outbox.claimDue(new Date(Date.now() + 1000), 3)
  await outbox.markDelivered(delivered.id)
  await outbox.markDead(dead.id, 'HTTP 400: bad unit')
  await outbox.release(pending.id)
  await store.close()
  return { file, delivered, dead, pending }
}

async function run (argv: string[], env: NodeJS.ProcessEnv) {
  let out = ''
  let err = ''
  const code = await main(argv, { CTI_CONFIG: path.join(ROOT, 'config/default.yaml'), ...env }, {
    out: async s => { out += s },
    err: async s => { err += s }
  })
  return { code, out, err }
}

t.test('list: counts, then one line per record, newest first, filtered by status', async t => {
  const { file, delivered, dead, pending } = await seed(t)
  const all = await run(['apkt', 'list'], { CTI_STORE_PATH: file })
  t.equal(all.code, 0, all.err)
  const lines = all.out.trimEnd().split('\n')
  // The pending record's age depends on how long the CLI took to start: a number, not 0.
  t.match(lines[0], /^# pending 1, delivered 1, dead 1, oldest pending \d+ s old$/)
  t.equal(lines[1], 'id\tstatus\tattempts\tcreatedAt\tagentId\tcallId\ttopic\tlastError')
  t.strictSame(lines.slice(2).map(l => l.split('\t').slice(0, 3)), [[pending.id, 'pending', '0'], [dead.id, 'dead', '1'], [delivered.id, 'delivered', '1']])
  t.match(lines[3], /\tHTTP 400: bad unit$/)
  const deadOnly = await run(['apkt', 'list', '--status', 'dead'], { CTI_STORE_PATH: file })
  t.strictSame(deadOnly.out.trimEnd().split('\n').slice(2).map(l => l.split('\t')[0]), [dead.id])
})

t.test('export: JSON lines, oldest first, whole entries with the record', async t => {
  const { file, delivered, dead, pending } = await seed(t)
  const res = await run(['apkt', 'export'], { CTI_STORE_PATH: file })
  t.equal(res.code, 0)
  const entries = res.out.trimEnd().split('\n').map(l => JSON.parse(l) as OutboxEntry)
  t.strictSame(entries.map(e => e.id), [delivered.id, dead.id, pending.id])
  t.strictSame(entries[1]?.record, dead)
  t.match(entries[1], { status: 'dead', attempts: 1, lastError: 'HTTP 400: bad unit', outcomeKey: 'c-dead:transfer' })
  const pend = await run(['apkt', 'export', '--status', 'pending'], { CTI_STORE_PATH: file })
  t.strictSame(pend.out.trimEnd().split('\n').map(l => (JSON.parse(l) as OutboxEntry).id), [pending.id])
})

t.test('retry: a dead record is pending again; anything else is refused with exit 1', async t => {
  const { file, dead, delivered } = await seed(t)
  const ok = await run(['apkt', 'retry', dead.id], { CTI_STORE_PATH: file })
  t.equal(ok.code, 0, ok.err)
  t.match(ok.out, new RegExp(`re-queued ${dead.id}`))
  const store = await openApktStore(file)
  t.match(await openOutbox(store).get(dead.id), { status: 'pending', attempts: 1 })
  await store.close()
  const notDead = await run(['apkt', 'retry', delivered.id], { CTI_STORE_PATH: file })
  t.equal(notDead.code, 1)
  t.match(notDead.err, /is delivered; only a dead record can be retried/)
  const unknown = await run(['apkt', 'retry', 'nope'], { CTI_STORE_PATH: file })
  t.equal(unknown.code, 1)
  t.match(unknown.err, /no APKT record nope/)
})

t.test('mistakes get a message and a non-zero exit', async t => {
  const { file } = await seed(t)
  const cases: Array<[string[], NodeJS.ProcessEnv, number, RegExp]> = [
    [[], {}, 2, /usage:/],
    [['frobnicate'], {}, 2, /unknown command "frobnicate"/],
    [['apkt', 'delete'], { CTI_STORE_PATH: file }, 2, /unknown apkt command "delete"/],
    [['apkt', 'list', '--status', 'lost'], { CTI_STORE_PATH: file }, 2, /--status must be one of pending, delivered, dead/],
    [['apkt', 'list', '--bogus'], { CTI_STORE_PATH: file }, 2, /Unknown option '--bogus'/],
    [['apkt', 'list', '--limit', '0'], { CTI_STORE_PATH: file }, 2, /--limit/],
    [['apkt', 'retry'], { CTI_STORE_PATH: file }, 2, /exactly one record id/],
    [['apkt', 'list'], { CTI_STORE_PATH: path.join(path.dirname(file), 'missing', 'x.db') }, 1, /no store at .*missing/],
    [['apkt', 'list'], { CTI_STORE_PATH: file, CTI_HTTP_PORT: 'eighty' }, 1, /CTI_HTTP_PORT.*not a number/]
  ]
  for (const [argv, env, code, msg] of cases) {
    const res = await run(argv, env)
    t.equal(res.code, code, `${argv.join(' ') || '(nothing)'} -> exit ${code}`)
    t.match(res.err + (res.code === 2 && argv.length === 0 ? res.out : ''), msg)
  }
})

t.test('the real executable: bin/pln123-cti.js', async t => {
  const { file, dead } = await seed(t)
  const exec = promisify(execFile)
  const env = { ...process.env, CTI_STORE_PATH: file }
  const exported = await exec(path.join(ROOT, 'bin/pln123-cti.js'), ['apkt', 'export', '--status', 'dead'], { cwd: ROOT, env })
  t.equal((JSON.parse(exported.stdout.trim()) as OutboxEntry).id, dead.id)
  const retried = await exec(path.join(ROOT, 'bin/pln123-cti.js'), ['apkt', 'retry', dead.id], { cwd: ROOT, env })
  t.match(retried.stdout, /re-queued/)
  const failed = await exec(path.join(ROOT, 'bin/pln123-cti.js'), ['apkt', 'retry', dead.id], { cwd: ROOT, env }).then(() => undefined, (e: { code: number, stderr: string }) => e)
  t.equal(failed?.code, 1, 'non-zero exit')
  t.match(failed?.stderr, /is pending; only a dead record can be retried/)
})

t.test('beside the running service: the command opens the same file while the service holds it', async t => {
  const { file, dead, pending } = await seed(t)
  // The service's store, open (and claiming) for the whole test, as in production.
  const service = await openApktStore(file)
  t.teardown(() => service.close())
  const serviceOutbox = openOutbox(service, { owner: 'service-host' })
  t.strictSame((await serviceOutbox.claimDue(new Date(Date.now() + 1000), 10)).map(e => e.id), [pending.id], 'the service holds a claim on the pending record')
  let out = ''
  const io = { out: async (s: string) => { out += s }, err: async () => {} }
  t.equal(await apktCommand(['retry', dead.id], { kind: 'sqlite', path: file }, io), 0)
  t.match(out, new RegExp(`re-queued ${dead.id} \\(call c-dead, agent 1002, 1 earlier attempt\\(s\\)\\)`))
  t.match(await serviceOutbox.get(dead.id), { status: 'pending', attempts: 1, lastError: 'HTTP 400: bad unit' }, 'the service reads the retry from the store')
  t.strictSame((await serviceOutbox.claimDue(new Date(Date.now() + 1000), 10)).map(e => e.id), [dead.id], 'and its dispatcher may claim it at once')
  out = ''
  t.equal(await apktCommand(['list', '--status', 'pending'], { kind: 'sqlite', path: file }, io), 0)
  t.match(out, /^# pending 2, delivered 1, dead 0/)
  t.strictSame(out.trimEnd().split('\n').slice(2).map(l => l.split('\t')[0]), [pending.id, dead.id], 'a record the service has claimed is still listed (the CLI never claims)')
  t.equal(serviceOutbox.claimedCount, 2, 'and the service\'s claims are untouched')
  t.strictSame(await openOutbox(service, { owner: 'another-host' }).claimDue(new Date(Date.now() + 1000), 10), [], 'claims held: the CLI did not release them')
})
