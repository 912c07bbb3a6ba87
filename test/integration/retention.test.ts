// Retention (CONTRACT.md section 9) on a real store file: rows older and newer than
// the limit in each table, with the rows that must survive whatever their age (a live
// call, a call whose APKT record is pending or dead, pending and dead records). The
// background pass, the dry run, the outbox counts after a purge, and `pln123-cti purge`.
import { execFile } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { apktMigrations } from '../../src/apkt/migrations.ts'
import type { Call } from '../../src/calls/types.ts'
import { main } from '../../src/cli/main.ts'
import { parseConfig } from '../../src/config/load.ts'
import type { Log } from '../../src/log.ts'
import { Retention } from '../../src/retention/purger.ts'
import { migrations } from '../../src/store/migrations.ts'
import type { Change, Store } from '../../src/store/port.ts'
import { openStore } from '../../src/store/sqlite.ts'
import { openSqliteStore } from '../../src/store/sqlite/index.ts'
import { makeRecord } from '../helpers/apkt.ts'
import { baseRawConfig } from '../helpers/config.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const ALL = [...migrations, ...apktMigrations]
const DAY = 86_400_000
const NOW = new Date()
const OLD = new Date(NOW.getTime() - 500 * DAY) // past the default 400 days
const RECENT = new Date(NOW.getTime() - 10 * DAY)
const iso = (d: Date): string => d.toISOString()

const call = (callId: string, state: Call['state'], endedAt?: Date): Call => ({
  callId, state, agentId: '1001', offeredAt: iso(endedAt ?? OLD), ...(endedAt !== undefined ? { endedAt: iso(endedAt) } : {}), source: 'ami'
})

/** Which rows must go (old) and which must stay, in every table. */
const GONE = {
  calls: ['c-old-ended', 'c-old-transferred-ended', 'c-old-transferred-stale', 'c-old-delivered-record'],
  audit: ['old-1', 'old-2', 'old-3'],
  apkt: ['c-old-delivered-record']
}
const KEPT = {
  calls: ['c-new-ended', 'c-old-live', 'c-old-live-transferring', 'c-old-pending-record', 'c-old-dead-record', 'c-new-transferred-open'],
  audit: ['new-1', 'new-2'],
  apkt: ['c-new-delivered', 'c-old-pending-record', 'c-old-dead-record']
}
const SEEDED_CALLS = [...GONE.calls, ...KEPT.calls]

const open = async (file: string): Promise<Store> => await openSqliteStore(file, ALL)

/** The seeded store file, closed: each test opens it as it needs. */
async function seedFile (t: Test): Promise<string> {
  const file = path.join(t.testdir(), 'cti.db')
  const store = await open(file)
  const changes: Change[] = [
    { kind: 'call', call: call('c-old-ended', 'ended', OLD) },
    { kind: 'call', call: call('c-old-transferred-ended', 'transferred', OLD) },
    { kind: 'call', call: call('c-new-ended', 'ended', RECENT) },
    { kind: 'call', call: call('c-old-pending-record', 'ended', OLD) },
    { kind: 'call', call: call('c-old-dead-record', 'ended', OLD) },
    { kind: 'call', call: call('c-old-delivered-record', 'ended', OLD) },
    // Live calls, however old: never purged.
    { kind: 'call', call: call('c-old-live', 'connected') },
    { kind: 'call', call: call('c-old-live-transferring', 'transferring') },
    // Transferred, customer's end never seen: aged by its last change.
    { kind: 'call', call: call('c-old-transferred-stale', 'transferred') },
    { kind: 'call', call: call('c-new-transferred-open', 'transferred') }
  ]
  for (const target of GONE.audit) changes.push({ kind: 'audit', entry: { actor: 'sup', role: 'supervisor', action: 'test', target }, at: iso(OLD) })
  for (const target of KEPT.audit) changes.push({ kind: 'audit', entry: { actor: 'sup', role: 'supervisor', action: 'test', target }, at: iso(RECENT) })
  const recordIds: Record<string, string> = {}
  const add = (callId: string, created: Date): void => {
    const record = makeRecord({ callId })
    recordIds[callId] = record.id
    changes.push({ kind: 'apktRecord', record, outcomeKey: `${callId}:transfer`, at: iso(created) })
  }
  add('c-old-delivered-record', OLD)
  add('c-new-delivered', OLD) // created long ago, delivered recently: kept by delivery time
  add('c-old-pending-record', OLD)
  add('c-old-dead-record', OLD)
  await store.commit(changes)
  const id = (callId: string): string => recordIds[callId] as string
  await store.outbox.markDelivered(id('c-old-delivered-record'), OLD)
  await store.outbox.markDelivered(id('c-new-delivered'), RECENT)
  await store.outbox.markDead(id('c-old-dead-record'), 'HTTP 400', true)
  await store.close()
  // A call's last change is stamped by the store's clock: these three were last changed
  // 500 days ago, which only the file itself can be told.
  const db = new Database(file)
  db.prepare('UPDATE calls SET updated_at = ?, closed_at = CASE WHEN closed_at IS NULL THEN NULL ELSE ? END WHERE call_id IN (?, ?, ?)')
    .run(iso(OLD), iso(OLD), 'c-old-transferred-stale', 'c-old-live', 'c-old-live-transferring')
  db.close()
  return file
}

async function seed (t: Test): Promise<{ file: string, store: Store }> {
  const file = await seedFile(t)
  const store = await open(file)
  t.teardown(async () => { if (store.open) await store.close() })
  return { file, store }
}

/** What is left in each table, read through the store's queries. */
async function ids (store: Store): Promise<{ calls: string[], audit: string[], apkt: string[] }> {
  const calls: string[] = []
  for (const id of SEEDED_CALLS) if (await store.calls.get(id) !== undefined) calls.push(id)
  const audit = (await store.audit.list({ limit: 1000 })).map(r => r.target)
  const apkt: string[] = []
  for await (const e of store.outbox.entries()) apkt.push(e.callId)
  return { calls: sorted(calls), audit: sorted(audit), apkt: sorted(apkt) }
}
const sorted = (xs: string[]): string[] => [...xs].sort()

function recordingLog (): Log & { lines: Array<{ obj: any, msg?: string }> } {
  const lines: Array<{ obj: any, msg?: string }> = []
  const rec = (obj: object | string, msg?: string): void => { lines.push({ obj, ...(msg !== undefined ? { msg } : {}) }) }
  return { lines, trace: rec, debug: rec, info: rec, warn: rec, error: rec }
}

const retention = (store: Store, log: Log, batchSize = 2) =>
  new Retention({ store: store.retention, days: 400, batchSize, batchMs: 1000, pauseMs: 0, log, now: () => NOW })

const until = async (ok: () => boolean | Promise<boolean>): Promise<void> => { while (!await ok()) await new Promise(resolve => setTimeout(resolve, 5)) }

t.test('a pass deletes exactly the old rows the policy lets go, in small batches, and logs one line', async t => {
  const { store } = await seed(t)
  t.strictSame(await ids(store), { calls: sorted(SEEDED_CALLS), audit: sorted([...GONE.audit, ...KEPT.audit]), apkt: sorted([...GONE.apkt, ...KEPT.apkt]) }, 'seeded')
  const log = recordingLog()
  const report = await retention(store, log).runPass()
  t.strictSame(await ids(store), { calls: sorted(KEPT.calls), audit: sorted(KEPT.audit), apkt: sorted(KEPT.apkt) })
  t.strictSame(report.counts, { calls: GONE.calls.length, audit: GONE.audit.length, apktDelivered: GONE.apkt.length, reports: 0 })
  t.ok(report.batches > 3, `batches of 2 rows (${report.batches})`)
  t.equal(log.lines.length, 1, 'one log line per pass')
  t.match(log.lines[0], { obj: { deleted: { calls: 4, audit: 3, apktDelivered: 1, reports: 0 }, days: 400, complete: true }, msg: /deleted 4 calls, 3 audit entries, 1 delivered APKT records/ })
  // The outbox counts (triggers, migration 6) match the records left.
  const truth: Record<string, number> = {}
  for await (const e of store.outbox.entries()) truth[e.status] = (truth[e.status] ?? 0) + 1
  t.match(await store.outbox.stats(NOW), { pending: 1, delivered: 1, dead: 1 })
  t.same({ pending: 1, delivered: 1, dead: 1 }, truth)
  // A second pass finds nothing more.
  t.strictSame((await retention(store, log).runPass()).counts, { calls: 0, audit: 0, apktDelivered: 0, reports: 0 })
})

t.test('a dry run counts the same rows and deletes nothing', async t => {
  const { store } = await seed(t)
  const before = await ids(store)
  const report = await retention(store, recordingLog()).dryRun()
  t.strictSame(report.counts, { calls: GONE.calls.length, audit: GONE.audit.length, apktDelivered: GONE.apkt.length, reports: 0 })
  t.strictSame(await ids(store), before)
})

t.test('the background job: a pass at start, then on its interval; stop() ends a pass at its next pause', async t => {
  const { store } = await seed(t)
  const log = recordingLog()
  const r = new Retention({ store: store.retention, days: 400, batchSize: 1, batchMs: 1000, pauseMs: 0, log, now: () => NOW, intervalMs: 50 })
  r.start()
  await until(() => log.lines.length >= 2)
  await r.stop()
  t.strictSame((await ids(store)).calls, sorted(KEPT.calls))
  t.match(log.lines[0]?.obj, { deleted: { calls: 4, audit: 3, apktDelivered: 1, reports: 0 } }, 'the first pass at start')
  t.match(log.lines[1]?.obj, { deleted: { calls: 0, audit: 0, apktDelivered: 0, reports: 0 } }, 'the next one on the interval')

  // A long pass (one row per batch, a long pause) stops at its next pause.
  const again = await seed(t)
  const log2 = recordingLog()
  const slow = new Retention({ store: again.store.retention, days: 400, batchSize: 1, batchMs: 1000, pauseMs: 60_000, log: log2, now: () => NOW })
  slow.start()
  await until(async () => { const left = await ids(again.store); return left.apkt.length < 4 || left.calls.length < 10 })
  await slow.stop()
  t.match(log2.lines[0]?.obj, { complete: false }, 'logged as cut short')
  t.ok((await ids(again.store)).calls.length > KEPT.calls.length, 'with rows it would have deleted left')
})

t.test('migration 7 dates the calls written before it', async t => {
  const file = path.join(t.testdir(), 'old.db')
  // The file as a version before migration 7 left it (the engine's own opener, the migrations of then).
  const old = openStore(file, ALL.filter(m => m.version < 7))
  const ins = old.db.prepare('INSERT INTO calls (call_id, state, agent_id, data, updated_at) VALUES (?, ?, ?, ?, ?)')
  ins.run('ended', 'ended', '1001', JSON.stringify(call('ended', 'ended', OLD)), iso(RECENT))
  ins.run('stale', 'transferred', '1001', JSON.stringify(call('stale', 'transferred')), iso(OLD))
  ins.run('live', 'connected', '1001', JSON.stringify(call('live', 'connected')), iso(OLD))
  old.close()
  const store = await open(file)
  t.ok(store.migrated.includes(7), 'migration 7 ran at this open')
  // What retention makes of it: the two closed calls are old (by their end, else their
  // last change), the live one is never purged.
  t.equal(await store.retention.countOld('calls', iso(new Date(NOW.getTime() - 400 * DAY))), 2)
  await store.close()
  const db = new Database(file, { readonly: true })
  t.teardown(() => { db.close() })
  t.strictSame(db.prepare('SELECT call_id, closed_at FROM calls ORDER BY call_id').all(),
    [{ call_id: 'ended', closed_at: iso(OLD) }, { call_id: 'live', closed_at: null }, { call_id: 'stale', closed_at: iso(OLD) }])
})

t.test('config: retention.days defaults to 400, CTI_RETENTION_DAYS overrides it, 0 is refused', async t => {
  t.equal(parseConfig(baseRawConfig()).retention.days, 400)
  t.equal(parseConfig(baseRawConfig(), { CTI_RETENTION_DAYS: '30' }).retention.days, 30)
  t.throws(() => parseConfig(baseRawConfig(), { CTI_RETENTION_DAYS: '0' }), /retention\.days/)
})

async function cli (argv: string[], env: NodeJS.ProcessEnv) {
  let out = ''
  let err = ''
  const code = await main(argv, { CTI_CONFIG: path.join(ROOT, 'config/default.yaml'), CTI_RETENTION_PAUSE_MS: '0', ...env }, { out: async s => { out += s }, err: async s => { err += s } })
  return { code, out, err }
}

t.test('pln123-cti purge [--dry-run]: counts per table, exit codes', async t => {
  const { file, store } = await seed(t)
  const before = await ids(store)
  await store.close()
  const dry = await cli(['purge', '--dry-run'], { CTI_STORE_PATH: file })
  t.equal(dry.code, 0, dry.err)
  t.match(dry.out, /^# retention 400 days: would delete rows older than \S+ \(dry run: nothing deleted\)\ntable\twould delete\ncalls\t4\naudit\t3\napkt_delivered\t1\nreports\t0\ntotal\t8\n$/)
  const check = new Database(file, { readonly: true })
  t.equal((check.prepare('SELECT COUNT(*) AS n FROM calls').get() as { n: number }).n, before.calls.length, 'dry run deleted nothing')
  check.close()

  const real = await cli(['purge'], { CTI_STORE_PATH: file })
  t.equal(real.code, 0, real.err)
  t.match(real.out, /^# retention 400 days: deleted rows older than \S+ in \d+ batch\(es\), \d+ ms\ntable\tdeleted\ncalls\t4\naudit\t3\napkt_delivered\t1\nreports\t0\ntotal\t8\n$/)
  const after = await open(file)
  t.strictSame(await ids(after), { calls: sorted(KEPT.calls), audit: sorted(KEPT.audit), apkt: sorted(KEPT.apkt) })
  await after.close()

  const shorter = await cli(['purge', '--dry-run'], { CTI_STORE_PATH: file, CTI_RETENTION_DAYS: '5' })
  // 5 days: the call ended 10 days ago, the audit entries and the record delivered 10 days ago.
  t.match(shorter.out, /retention 5 days[\s\S]*calls\t1\naudit\t2\napkt_delivered\t1\n/, 'CTI_RETENTION_DAYS applies')

  for (const [argv, env, code, msg] of [
    [['purge', 'now'], { CTI_STORE_PATH: file }, 2, /purge takes no arguments/],
    [['purge', '--force'], { CTI_STORE_PATH: file }, 2, /Unknown option '--force'/],
    [['purge'], { CTI_STORE_PATH: path.join(path.dirname(file), 'missing.db') }, 1, /no store at .*missing\.db/],
    [['purge'], { CTI_STORE_PATH: file, CTI_RETENTION_DAYS: 'soon' }, 1, /CTI_RETENTION_DAYS.*not a number/]
  ] as Array<[string[], NodeJS.ProcessEnv, number, RegExp]>) {
    const res = await cli(argv, env)
    t.equal(res.code, code, `${argv.join(' ')} -> exit ${code}`)
    t.match(res.err, msg)
  }
})

t.test('the real executable: bin/pln123-cti.js purge', async t => {
  const file = await seedFile(t)
  const exec = promisify(execFile)
  const env = { ...process.env, CTI_STORE_PATH: file }
  const res = await exec(path.join(ROOT, 'bin/pln123-cti.js'), ['purge', '--dry-run'], { cwd: ROOT, env })
  t.match(res.stdout, /total\t8\n/)
  const bad = await exec(path.join(ROOT, 'bin/pln123-cti.js'), ['purge', '--nope'], { cwd: ROOT, env }).then(() => undefined, (e: { code: number, stderr: string }) => e)
  t.equal(bad?.code, 2)
})
